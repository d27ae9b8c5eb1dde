using System.Reactive.Linq;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Grid.Reactive.Benchmarks.Systems;

namespace Grid.Reactive.Benchmarks.GridSystem;

/// <summary>Calls the echo handler of a remote node over one grid <see cref="Connection"/>.</summary>
public sealed class GridEchoClient : IEchoClient
{
    private readonly Connection _connection;
    private readonly GridCallStyle _style;
    private readonly ObserverLane[] _lanes;

    /// <summary>Creates a client for <paramref name="lanes"/> lanes.</summary>
    public GridEchoClient(Connection connection, GridCallStyle style, int lanes)
    {
        _connection = connection;
        _style = style;
        _lanes = new ObserverLane[style == GridCallStyle.Observer ? lanes : 0];
        for (var i = 0; i < _lanes.Length; i++)
        {
            _lanes[i] = new ObserverLane();
        }
    }

    /// <summary>The deadline every call carries.</summary>
    public static TimeSpan Timeout { get; } = TimeSpan.FromSeconds(30);

    /// <inheritdoc />
    public ValueTask<ReadOnlyMemory<byte>> EchoAsync(int lane, byte[] payload)
    {
        if (_style == GridCallStyle.Await)
        {
            return AwaitAsync(payload);
        }

        var observer = _lanes[lane];
        var answer = observer.Begin();
        _connection.Request(GridEchoSystem.Echo, payload, Timeout).Subscribe(observer);
        return answer;
    }

    // Pooled, so that the benchmark's own adapter allocates nothing per call: what is left is the library's and Rx's.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ReadOnlyMemory<byte>> AwaitAsync(byte[] payload) =>
        await _connection.Request(GridEchoSystem.Echo, payload, Timeout);

    /// <summary>A reusable observer of one call at a time, awaitable without allocating.</summary>
    private sealed class ObserverLane : IObserver<byte[]>, IValueTaskSource<ReadOnlyMemory<byte>>
    {
        private ManualResetValueTaskSourceCore<ReadOnlyMemory<byte>> _core;
        private byte[]? _answer;

        public ValueTask<ReadOnlyMemory<byte>> Begin()
        {
            _core.Reset();
            _answer = null;
            return new ValueTask<ReadOnlyMemory<byte>>(this, _core.Version);
        }

        public void OnNext(byte[] value) => _answer = value;

        public void OnError(Exception error) => _core.SetException(error);

        public void OnCompleted()
        {
            if (_answer is { } answer)
            {
                _core.SetResult(answer);
            }
            else
            {
                _core.SetException(new InvalidOperationException("The request completed without an answer."));
            }
        }

        public ReadOnlyMemory<byte> GetResult(short token) => _core.GetResult(token);

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
