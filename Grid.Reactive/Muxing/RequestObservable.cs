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
        return Start(connection, observer, handler, payload, timeout, subroute);
    }

    /// <summary>Sends one request whose outcome goes to <paramref name="observer"/>; disposing the result cancels it.</summary>
    public static IDisposable Start(Connection connection, IObserver<byte[]> observer, HandlerId handler, byte[] payload, TimeSpan timeout, string? subroute)
    {
        var session = connection.CurrentSession;
        if (session is null || !session.IsOpen)
        {
            observer.OnError(connection.NotConnected());
            return Disposable.Empty;
        }

        var telemetry = ClientCallTelemetry.TryStart(session.Grid, session, handler.Value, subroute, "request");
        var call = new OutgoingRequest(session, telemetry?.Observe(observer) ?? observer, handler, payload, timeout, subroute);
        call.Start();
        return telemetry?.Guard(call) ?? call;
    }
}
