namespace Grid.Reactive.Handlers;

/// <summary>
/// A registered single-request handler: either shape, plain (payload and token) or with a <see cref="RequestContext"/>,
/// which is built only for the handlers that take one, so the plain ones cost nothing more per call.
/// </summary>
internal sealed class RequestRegistration
{
    private readonly RequestHandler? _plain;
    private readonly Func<RequestContext, byte[], ValueTask<byte[]>>? _contextual;

    public RequestRegistration(HandlerId id, string? subroute, RequestHandler plain)
    {
        ArgumentNullException.ThrowIfNull(plain);
        Id = id;
        Subroute = subroute;
        _plain = plain;
    }

    public RequestRegistration(HandlerId id, string? subroute, Func<RequestContext, byte[], ValueTask<byte[]>> contextual)
    {
        ArgumentNullException.ThrowIfNull(contextual);
        Id = id;
        Subroute = subroute;
        _contextual = contextual;
    }

    public HandlerId Id { get; }

    public string? Subroute { get; }

    /// <summary>True for a handler that takes a <see cref="RequestContext"/>.</summary>
    public bool TakesContext => _contextual is not null;

    /// <summary>Runs a plain handler.</summary>
    public ValueTask<byte[]> Invoke(byte[] payload, CancellationToken cancellationToken) => _plain!(payload, cancellationToken);

    /// <summary>Runs a handler that takes a context.</summary>
    public ValueTask<byte[]> Invoke(RequestContext context, byte[] payload) => _contextual!(context, payload);
}
