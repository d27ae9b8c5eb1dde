using System.Runtime.CompilerServices;
using Grid.Reactive.Benchmarks.Harness;
using Microsoft.AspNetCore.SignalR;

namespace Grid.Reactive.Benchmarks.SignalRSystem;

/// <summary>
/// The SignalR hub: echo, a server-to-client stream as fast as the connection takes it, and a two-way echo stream
/// (a client-to-server stream argument echoed back as the method's stream result).
/// </summary>
public sealed class BenchHub(StreamCounters counters) : Hub
{
    /// <summary>Where the hub is mapped.</summary>
    public const string Path = "/bench";

    /// <summary>Returns the payload it was given (the MessagePack protocol deserialized it into a new array).</summary>
    public byte[] Echo(byte[] payload) => payload;

    /// <summary>
    /// Streams <paramref name="size"/>-byte messages until the client cancels. SignalR has no message window: the
    /// dispatcher pulls the next item once it has written the last one to the connection, so only the transport (the
    /// pipe to the WebSocket, TCP) paces it. One buffer, restamped per message: the dispatcher has serialized an item
    /// by the time it asks for the next, as gRPC's writer has.
    /// </summary>
    public async IAsyncEnumerable<byte[]> Produce(int size, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var buffer = Payloads.Create(size, 0);
        for (long sequence = 0; !cancellationToken.IsCancellationRequested; sequence++)
        {
            Payloads.Stamp(buffer, sequence);
            yield return buffer;
            counters.Add(1);
        }

        await Task.CompletedTask;
    }

    /// <summary>Echoes every message of the client's stream back on the result stream.</summary>
    public async IAsyncEnumerable<byte[]> EchoStream(IAsyncEnumerable<byte[]> messages, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        await foreach (var message in messages.WithCancellation(cancellationToken))
        {
            yield return message;
            counters.Add(1);
        }
    }
}
