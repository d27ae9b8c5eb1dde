using System.Reactive.Disposables;

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
            observer.OnError(connection.NotConnected());
            return Disposable.Empty;
        }

        var call = new OutgoingRequest(session, observer, handler, payload, timeout, subroute);
        call.Start();
        return call;
    }
}
