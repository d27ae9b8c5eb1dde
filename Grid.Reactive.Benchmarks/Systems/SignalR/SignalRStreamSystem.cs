using System.Runtime.CompilerServices;
using Grid.Reactive.Benchmarks.Harness;
using Grid.Reactive.Benchmarks.Systems;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.SignalR.Client;

namespace Grid.Reactive.Benchmarks.SignalRSystem;

/// <summary>
/// SignalR streams over one <see cref="HubConnection"/>. Server to client: the hub method <see cref="BenchHub.Produce"/>
/// returns an <see cref="IAsyncEnumerable{T}"/>, consumed with <c>StreamAsync&lt;byte[]&gt;</c>. Two-way: the client
/// passes its own <see cref="IAsyncEnumerable{T}"/> as a stream argument of <see cref="BenchHub.EchoStream"/> and reads
/// the echoes from the result stream, with at most <c>window</c> messages unanswered (as for the other systems).
/// SignalR has no message window of its own: the server-to-client stream is paced only by the transport, and the
/// client buffers what arrives in an unbounded channel until the consumer takes it.
/// </summary>
/// <param name="tls">The certificates of a TLS run (HTTPS, wss), or null.</param>
public sealed class SignalRStreamSystem(BenchTls? tls = null) : IStreamSystem
{
    /// <inheritdoc />
    public string Name => "signalr";

    /// <inheritdoc />
    public string? NotAvailable => null;

    /// <inheritdoc />
    public async Task<IStreamTarget> StartAsync(CancellationToken cancellationToken)
    {
        var counters = new StreamCounters();
        var port = Ports.Free();
        var server = await SignalRServer.StartAsync(port, counters, tls, cancellationToken);
        try
        {
            var connection = await SignalRClient.ConnectAsync(port, tls, cancellationToken);
            return new Target(server, connection, counters);
        }
        catch
        {
            await KestrelHost.StopAsync(server, TimeSpan.FromSeconds(1));
            throw;
        }
    }

    private sealed class Target(WebApplication server, HubConnection connection, StreamCounters counters) : IStreamTarget
    {
        public long Produced => counters.Produced;

        public async Task ReceiveAsync(int size, int window, StreamSink sink, CancellationToken stop)
        {
            try
            {
                await foreach (var message in connection.StreamAsync<byte[]>(nameof(BenchHub.Produce), size, stop))
                {
                    // Cancelling completes the client's channel, which still hands out what it buffered first: a
                    // consumer that has stopped leaves instead of draining it.
                    stop.ThrowIfCancellationRequested();
                    await sink.OnMessageAsync(message);
                }

                sink.Fail(new InvalidOperationException("the server ended the stream"));
            }
            catch (Exception ex) when (stop.IsCancellationRequested && IsCancellation(ex))
            {
                // Stopped by the run: the normal end.
            }
        }

        public async Task BidiEchoAsync(int size, int window, StreamSink sink, CancellationToken stop)
        {
            var credit = new CreditGate(window);
            try
            {
                await foreach (var echo in connection.StreamAsync<byte[]>(nameof(BenchHub.EchoStream), SendAsync(size, credit, stop), stop))
                {
                    stop.ThrowIfCancellationRequested();
                    sink.OnMessage(echo);
                    credit.Grant(1);
                }

                sink.Fail(new InvalidOperationException("the server ended the stream"));
            }
            catch (Exception ex) when (stop.IsCancellationRequested && IsCancellation(ex))
            {
                // Stopped by the run: the normal end.
            }
            finally
            {
                credit.Close();
            }
        }

        public async ValueTask DisposeAsync()
        {
            await connection.DisposeAsync();
            await KestrelHost.StopAsync(server, TimeSpan.FromSeconds(1));
        }

        /// <summary>
        /// The client's stream argument: one buffer, restamped per message, each taking one credit. SignalR's client
        /// serializes and flushes an item before it asks for the next, so the buffer is free again by then.
        /// </summary>
        private static async IAsyncEnumerable<byte[]> SendAsync(int size, CreditGate credit, [EnumeratorCancellation] CancellationToken stop)
        {
            var buffer = Payloads.Create(size, 0);
            for (long sequence = 0; !stop.IsCancellationRequested; sequence++)
            {
                await credit.TakeAsync(1, stop);
                Payloads.Stamp(buffer, sequence);
                yield return buffer;
            }
        }

        private static bool IsCancellation(Exception ex) =>
            ex is OperationCanceledException or IOException or ObjectDisposedException;
    }
}
