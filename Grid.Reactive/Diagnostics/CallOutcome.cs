namespace Grid.Reactive.Diagnostics;

/// <summary>The <c>grid.outcome</c> of a call, as metrics and spans tag it: a short, bounded set of names.</summary>
internal static class CallOutcome
{
    public const string Ok = "ok";
    public const string Cancelled = "cancelled";

    public static string Of(Exception? error) => error switch
    {
        null => Ok,
        OperationCanceledException => Cancelled,
        DeadlineExceededException => "deadline_exceeded",
        HandlerNotFoundException => "handler_not_found",
        MessageTooLargeException => "too_large",
        BusyException => "busy",
        DisconnectedException => "disconnected",
        RemoteException => "remote_error",
        ProtocolException => "protocol_error",
        _ => "error",
    };
}
