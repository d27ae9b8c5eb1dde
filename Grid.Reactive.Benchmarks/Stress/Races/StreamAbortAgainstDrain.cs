// Shared, byte for byte, by Grid.Reactive.Tests/Stress/Races and Grid.Reactive.Benchmarks/Stress/Races.
using System.Buffers.Binary;
using System.Globalization;

namespace Grid.Reactive.Stress;

/// <summary>
/// Race 5, stream abort against drain: streams whose producers never end, each consumer draining as fast as it can
/// (half observers, half pull readers), when they fail under it, by turns: the link is reset, the stream's deadline
/// passes, or the remote handler throws after a number of messages. Every stream fails while its consumer is taking
/// messages, so each must end with an error and never complete.
/// </summary>
/// <remarks>
/// Invariants, per stream: messages in order without gaps or duplicates, then exactly one ending, an error, never
/// OnCompleted (nor a pull loop that simply stops); nothing after the ending; a handler's error comes after every
/// message it sent; every stream ends (guard); afterwards the connection is up and neither node holds a stream.
/// </remarks>
internal static class StreamAbortAgainstDrain
{
    public static readonly HandlerId Producer = new(0x5708);

    /// <summary>The kind of violation of a stream that completed although its link was reset.</summary>
    public const string CompletedAfterAbort = "a stream that failed completed";

    /// <param name="rounds">Link resets, each under <paramref name="streams"/> draining streams.</param>
    /// <param name="streams">Streams open at each reset.</param>
    public static Task<StressResult> RunAsync(int rounds, int streams = 32, int seed = 11)
    {
        var result = new StressResult("stream-failure-vs-drain/inmemory");
        return RaceKit.Timed(result, async () =>
        {
            await using var grid = await StressGrid.StartAsync(StressTransport.InMemory, node => node.RegisterStream(Producer, async (stream, cancellationToken) =>
            {
                // An initial payload names the message count after which the handler throws; without one it never ends.
                var failAfter = stream.Payload.Length == 4 ? BinaryPrimitives.ReadInt32LittleEndian(stream.Payload) : int.MaxValue;
                for (var message = 0; !cancellationToken.IsCancellationRequested; message++)
                {
                    if (message == failAfter)
                    {
                        throw new InvalidOperationException($"the producer failed after {message} messages (on purpose)");
                    }

                    var payload = new byte[4];
                    BinaryPrimitives.WriteInt32LittleEndian(payload, message);
                    await stream.SendAsync(payload, cancellationToken);
                }
            }), configure: options => options with
            {
                Reconnect = new ReconnectPolicy { InitialDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromMilliseconds(5), StableAfter = TimeSpan.FromMilliseconds(1) },
            });

            var random = new Random(seed);
            for (var round = 0; round < rounds && result.ViolationCount < 20; round++)
            {
                await grid.ConnectedAsync();
                var connection = grid.From(0, 1);
                var failure = (Failure)(round % 3);
                var records = Enumerable.Range(0, streams).Select(i => new StreamRecord(string.Create(CultureInfo.InvariantCulture, $"r{round}-s{i}"),
                    failure == Failure.HandlerThrows ? 3 + random.Next(200) : null)).ToArray();
                var subscriptions = new List<IDisposable>();
                var readers = new List<Task>();
                for (var i = 0; i < streams; i++)
                {
                    byte[]? payload = null;
                    if (records[i].FailAfter is { } failAfter)
                    {
                        payload = new byte[4];
                        BinaryPrimitives.WriteInt32LittleEndian(payload, failAfter);
                    }

                    var options = failure == Failure.Deadline ? new StreamOptions { Timeout = TimeSpan.FromMilliseconds(1 + random.Next(5)) } : null;
                    var stream = connection.NewStream(Producer, payload, options);
                    if (i % 2 == 0)
                    {
                        subscriptions.Add(stream.Subscribe(records[i]));
                    }
                    else
                    {
                        readers.Add(records[i].ReadAsync(stream));
                    }
                }

                // Every consumer is draining: then reset the link under them, from either side (the other failures come by themselves).
                if (failure == Failure.LinkReset)
                {
                    if (!await RaceKit.UntilAsync(() => records.All(r => r.Messages >= 3 || r.Ended.IsCompleted)))
                    {
                        result.Violation("violation: streams never got going: " + string.Join(", ", records.Where(r => r.Messages < 3).Take(3)));
                        return;
                    }

                    grid.Network!.Abort(grid.Nodes[random.Next(2)].Address);
                }

                try
                {
                    await Task.WhenAll(records.Select(r => r.Ended)).WaitAsync(StressGrid.Guard);
                }
                catch (TimeoutException)
                {
                    result.Violation("violation: streams never ended after the reset: " + string.Join(", ", records.Where(r => !r.Ended.IsCompleted).Take(3)));
                    return;
                }

                await Task.WhenAll(readers).WaitAsync(StressGrid.Guard);
                subscriptions.ForEach(s => s.Dispose());
                foreach (var record in records)
                {
                    var outcome = record.Check();
                    if (outcome.StartsWith("violation", StringComparison.Ordinal))
                    {
                        result.Violation(outcome);
                    }
                    else
                    {
                        result.Count(outcome);
                    }

                    result.Iterated();
                }
            }

            await grid.ConnectedAsync();
            if (!await RaceKit.UntilAsync(() => grid.PendingCalls() == 0))
            {
                result.Violation($"violation: streams left behind: {grid.PendingCalls()} still pending after every stream ended");
            }

            grid.ReportLog(result);
        });
    }

    private enum Failure
    {
        LinkReset,
        Deadline,
        HandlerThrows,
    }

    /// <summary>One stream as its consumer saw it: messages in order, then its one ending.</summary>
    private sealed class StreamRecord(string name, int? failAfter) : IObserver<byte[]>
    {
        private readonly Lock _gate = new();
        private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly List<string> _problems = [];
        private int _messages;
        private string? _ending;

        public int Messages => Volatile.Read(ref _messages);

        /// <summary>The messages after which the remote handler throws, or null when it never does.</summary>
        public int? FailAfter => failAfter;

        public Task Ended => _ended.Task;

        public void OnNext(byte[] value)
        {
            lock (_gate)
            {
                var seq = BinaryPrimitives.ReadInt32LittleEndian(value);
                if (_ending is not null)
                {
                    _problems.Add($"message {seq} after the ending");
                }
                else if (seq != _messages)
                {
                    _problems.Add($"message {seq} where {_messages} was due");
                }

                Volatile.Write(ref _messages, _messages + 1);
            }
        }

        public void OnError(Exception error) => End("error " + error.GetType().Name);

        public void OnCompleted() => End("completed");

        /// <summary>The pull consumer: reads until the stream ends; a loop that ends without an exception completed.</summary>
        public async Task ReadAsync(ClientStream stream)
        {
            try
            {
                await foreach (var message in stream.ReadAllAsync())
                {
                    OnNext(message);
                }

                OnCompleted();
            }
#pragma warning disable CA1031 // The exception is the stream's ending, recorded.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                OnError(ex);
            }
        }

        public string Check()
        {
            lock (_gate)
            {
                if (_problems.Count > 0)
                {
                    return $"violation: stream {name} broke its order: {string.Join("; ", _problems.Take(3))}";
                }

                if (failAfter is { } sent && _ending is not null && _ending != "completed" && _messages != sent)
                {
                    return $"violation: a handler's error overtook its messages: stream {name} ended with {_ending} after {_messages} of its {sent} messages";
                }

                return _ending switch
                {
                    null => $"violation: stream {name} never ended",
                    "completed" => $"violation: {CompletedAfterAbort}: stream {name} completed after {_messages} messages although it failed",
                    _ => _ending,
                };
            }
        }

        public override string ToString() => $"{name} ({Messages} messages, {_ending ?? "not ended"})";

        private void End(string ending)
        {
            lock (_gate)
            {
                if (_ending is not null)
                {
                    _problems.Add($"a second ending ({ending} after {_ending})");
                    return;
                }

                _ending = ending;
            }

            _ended.TrySetResult();
        }
    }
}
