using MessagePack;

namespace Grid.Reactive.Handlers;

/// <summary>MessagePack (de)serialization for typed handlers, turning a failure into a <see cref="PayloadException"/>.</summary>
internal static class TypedCodec
{
    /// <summary>The default: payloads come from other nodes, so they are read as untrusted data.</summary>
    public static readonly MessagePackSerializerOptions Untrusted = MessagePackSerializerOptions.Standard.WithSecurity(MessagePackSecurity.UntrustedData);

    public static byte[] Write<T>(T value, MessagePackSerializerOptions options) => MessagePackSerializer.Serialize(value, options);

    public static T Read<T>(byte[] payload, MessagePackSerializerOptions options)
    {
        try
        {
            return MessagePackSerializer.Deserialize<T>(payload, options);
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or InsufficientExecutionStackException)
        {
            throw new PayloadException($"A payload of {payload.Length} bytes is not a valid {typeof(T).Name}: {ex.InnerException?.Message ?? ex.Message}", ex);
        }
    }
}
