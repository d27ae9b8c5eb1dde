using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Grid.Reactive.Transport;

/// <summary>
/// Reports, as one warning on the grid's logger, a TLS connection to the self-hosted listener that ended without a
/// single grid request: its TLS handshake failed here (no or a bad client certificate under mutual TLS, plain HTTP to
/// the TLS port), or the dialer refused this node's certificate (another CA, expired), which under TLS 1.3 this side
/// sees only as a connection that closes. Kestrel itself tells such failures only to its debug log, whose reason is
/// picked up here (a logger provider for Kestrel's HTTPS category) and put in the warning. Repeats are thinned to
/// powers of two (1, 2, 4, 8, ...), so a peer redialling with a bad certificate explains itself without flooding the log.
/// </summary>
internal sealed class TlsRefusalLog(ILogger grid, string address) : ILoggerProvider
{
    /// <summary>Kestrel's HTTPS middleware logs here; its AuthenticationFailed (1) and AuthenticationTimedOut (2) carry the reason.</summary>
    public const string HttpsCategory = "Microsoft.AspNetCore.Server.Kestrel.Https";

    private const string RequestSeen = "Grid.Reactive.RequestSeen";

    // The reason of the connection being handled, filled by Kestrel's HTTPS logger in the same async flow.
    private static readonly AsyncLocal<StrongBox<string?>?> CurrentReason = new();

    private long _refusals;

    /// <summary>The connection middleware, added before Kestrel's HTTPS one so that it sees every connection end.</summary>
    public Func<ConnectionDelegate, ConnectionDelegate> Middleware => next => async connection =>
    {
        var reason = new StrongBox<string?>();
        CurrentReason.Value = reason;
        await next(connection).ConfigureAwait(false);
        if (!connection.Items.ContainsKey(RequestSeen))
        {
            Report(connection.RemoteEndPoint?.ToString() ?? "?", reason.Value);
        }
    };

    /// <summary>Marks the request's connection as one that carried a request (so its end is no refusal).</summary>
    public static void MarkRequest(HttpContext context)
    {
        if (context.Features.Get<IConnectionItemsFeature>() is { } items)
        {
            items.Items[RequestSeen] = true;
        }
    }

    public ILogger CreateLogger(string categoryName) => categoryName.StartsWith(HttpsCategory, StringComparison.Ordinal)
        ? new ReasonCatcher()
        : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    public void Dispose()
    {
    }

    private void Report(string remote, string? reason)
    {
        var count = Interlocked.Increment(ref _refusals);
        if ((count & (count - 1)) == 0)
        {
            grid.LogWarning("TLS handshake refused on wss://{Address} from {Remote} ({Count} so far): {Reason}", address, remote, count,
                reason ?? "the connection closed before any request: the dialer likely refused this node's certificate (another CA, expired, wrong name); its log says why");
        }
    }

    private sealed class ReasonCatcher : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id is 1 or 2 && CurrentReason.Value is { } reason)
            {
                var detail = exception?.InnerException?.Message is { } inner ? $"{exception.Message} ({inner})" : exception?.Message;
                reason.Value = detail is null ? formatter(state, exception) : $"{formatter(state, exception)} {detail}";
            }
        }
    }
}
