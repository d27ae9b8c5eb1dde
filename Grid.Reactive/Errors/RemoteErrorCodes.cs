namespace Grid.Reactive;

/// <summary>The error codes the grid itself gives a <see cref="RemoteException"/>; handlers choose their own with <see cref="GridErrorException"/>.</summary>
public static class RemoteErrorCodes
{
    /// <summary>The handler threw an exception other than <see cref="GridErrorException"/>: <see cref="RemoteException.RemoteType"/> names its type.</summary>
    public const string Unhandled = "unhandled";

    /// <summary>The serving node could not deserialize the call's payload into the type its typed handler expects (a <see cref="PayloadException"/> there).</summary>
    public const string InvalidPayload = "invalid-payload";
}
