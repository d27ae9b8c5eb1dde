using System.Reactive.Linq;
using Grid.Reactive.Muxing.Streams;

namespace Grid.Reactive;

/// <summary>
/// A stream as its handler sees it (the credit-aware handler shape of <see cref="Manager.RegisterStream(HandlerId, Func{ServerStream, CancellationToken, Task}, StreamHandlerOptions?, string?)"/>):
/// the caller's initial payload, its messages, and a way to send that waits for the caller's credit.
/// </summary>
/// <remarks>
/// Consume the caller's messages once, either pushed (<see cref="Incoming"/>) or pulled (<see cref="ReadAllAsync"/>);
/// credit goes back to the caller as they are taken. The handler ends the stream by returning (normally) or
/// throwing (the caller gets a <see cref="RemoteException"/> with the message, and the code of a <see cref="GridErrorException"/>); the end follows every message sent.
/// </remarks>
public sealed class ServerStream
{
    private readonly CreditWindow _window;
    private readonly StreamInbox _inbox;
    private readonly HandlerId _handler;
    private readonly string? _subroute;
    private readonly System.Reactive.Concurrency.IScheduler _scheduler;
    private long _dueTicks = long.MaxValue;
    private RequestContext? _context;

    internal ServerStream(byte[] payload, string remoteAddress, CreditWindow window, StreamInbox inbox,
        HandlerId handler, string? subroute, System.Reactive.Concurrency.IScheduler scheduler, CancellationToken cancellation)
    {
        Payload = payload;
        RemoteAddress = remoteAddress;
        Cancellation = cancellation;
        _window = window;
        _inbox = inbox;
        _handler = handler;
        _subroute = subroute;
        _scheduler = scheduler;
    }

    /// <summary>
    /// The stream's context: the caller's address, the handler id and subroute it opened, its deadline (null when it
    /// set none) and <see cref="Cancellation"/>. Built on first use.
    /// </summary>
    public RequestContext Context
    {
        get
        {
            var context = Volatile.Read(ref _context);
            if (context is null)
            {
                context = new RequestContext(RemoteAddress, _handler, _subroute, Interlocked.Read(ref _dueTicks), _scheduler, Cancellation);
                context = Interlocked.CompareExchange(ref _context, context, null) ?? context;
            }

            return context;
        }
    }

    /// <summary>The caller's initial payload (empty when it sent none).</summary>
    public byte[] Payload { get; }

    /// <summary>The caller's address.</summary>
    public string RemoteAddress { get; }

    /// <summary>Fires when the caller cancels, the deadline passes, the caller stops pinging, or the connection is lost.</summary>
    public CancellationToken Cancellation { get; }

    /// <summary>The caller's messages, pushed in order off the connection's reader; credit returns as each <c>OnNext</c> returns. Subscribe once.</summary>
    public IObservable<byte[]> Incoming => Observable.Create<byte[]>(observer => _inbox.Subscribe(observer));

    /// <summary>
    /// The credit left to send to the caller: the current value at once (0 until the stream is accepted), the caller's
    /// receive window when it is, then each change. Delivered in order off the connection's reader; a throwing
    /// observer is logged and gets nothing more. A very slow observer misses the oldest of more than 1024
    /// undelivered values; the latest always arrives.
    /// </summary>
    public IObservable<int> Credit => _window.Credit;

    /// <summary>The caller's messages, pulled; each read returns credit to the caller. Enumerate once.</summary>
    /// <param name="cancellationToken">Stops waiting for the next message.</param>
    /// <returns>The messages, ending when the caller ends its input.</returns>
    public IAsyncEnumerable<byte[]> ReadAllAsync(CancellationToken cancellationToken = default) => _inbox.ReadAllAsync(cancellationToken);

    /// <summary>Sends a message to the caller once it has granted credit for it.</summary>
    /// <param name="message">The message. Not copied: do not change it after the call.</param>
    /// <param name="cancellationToken">Gives up waiting for credit; the message is then not sent.</param>
    /// <returns>Completes when the message is handed to the connection.</returns>
    public ValueTask SendAsync(byte[] message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        return _window.SendAsync(message, cancellationToken);
    }

    internal CreditWindow.PushResult Push(byte[] message) => _window.Push(message);

    /// <summary>Sets the deadline, in scheduler ticks, before the handler runs.</summary>
    internal void SetDeadline(long dueTicks) => Interlocked.Exchange(ref _dueTicks, dueTicks);
}
