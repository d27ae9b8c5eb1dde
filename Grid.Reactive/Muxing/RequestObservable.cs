using System.Reactive.Disposables;
using Grid.Reactive.Diagnostics;

namespace Grid.Reactive.Muxing;

/// <summary>
/// The cold observable <see cref="Connection.Request"/> returns: nothing is sent until it is subscribed, and each
/// subscription sends its own request on the session current at that moment.
/// </summary>
internal sealed class RequestObservable(Connection connection, HandlerId handler, byte[] payload, TimeSpan timeout, string? subroute)
    : IObservable<byte[]>
{
    public IDisposable Subscribe(IObserver<byte[]> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var session = connection.CurrentSession;
        if (session is null || !session.IsOpen)
        {
            observer.OnError(new DisconnectedException($"Not connected to '{connection.RemoteAddress}' (the connection is {connection.State})."));
            return Disposable.Empty;
        }

        var telemetry = ClientCallTelemetry.TryStart(session.Grid, session, handler.Value, subroute, "request");
        var call = new OutgoingRequest(session, telemetry?.Observe(observer) ?? observer, handler, payload, timeout, subroute);
        call.Start();
        return telemetry?.Guard(call) ?? call;
    }
}
