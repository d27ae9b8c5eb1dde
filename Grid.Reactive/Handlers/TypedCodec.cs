using MessagePack;

namespace Grid.Reactive.Handlers;

/// <summary>MessagePack (de)serialization for typed handlers, turning a failure into a <see cref="PayloadException"/>.</summary>
internal static class TypedCodec
{
    public static byte[] Write<T>(T value, MessagePackSerializerOptions options) => MessagePackSerializer.Serialize(value, options);

    public static T Read<T>(byte[] payload, MessagePackSerializerOptions options)
    {
        try
        {
            return MessagePackSerializer.Deserialize<T>(payload, options);
        }
        catch (MessagePackSerializationException ex)
        {
            throw new PayloadException($"A payload of {payload.Length} bytes is not a valid {typeof(T).Name}: {ex.InnerException?.Message ?? ex.Message}", ex);
        }
    }
}
