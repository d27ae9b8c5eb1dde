using BenchmarkDotNet.Attributes;
using Grid.Reactive.Protocol;

namespace Grid.Reactive.Benchmarks.Micro;

/// <summary>The codec's hot paths: one 512 B request frame and a merged message of 64 of them, encoded and decoded.</summary>
[MemoryDiagnoser]
public class FrameCodecBenchmarks : IDisposable
{
    private const int MergedFrames = 64;

    private readonly PooledBufferWriter _writer = new(64 * 1024);
    private Frame _request;
    private byte[] _single = [];
    private byte[] _merged = [];

    /// <summary>Builds the frame and the encoded messages the decoders read.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var payload = new byte[512];
        Random.Shared.NextBytes(payload);
        _request = new Frame(Op.Request, muxId: 123_456, deadlineMs: 30_000, handlerId: 1, payload: payload);
        _single = Encode(writer => FrameCodec.Write(writer, _request, checksum: false));
        _merged = Encode(WriteMerged);
    }

    /// <summary>Returns the writer's pooled buffer.</summary>
    [GlobalCleanup]
    public void Dispose()
    {
        _writer.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>One request frame into a reused pooled writer.</summary>
    [Benchmark(Baseline = true)]
    public int EncodeRequest()
    {
        _writer.Clear();
        FrameCodec.Write(_writer, _request, checksum: false);
        return _writer.WrittenCount;
    }

    /// <summary>One request frame with its xxHash3 checksum.</summary>
    [Benchmark]
    public int EncodeRequestWithChecksum()
    {
        _writer.Clear();
        FrameCodec.Write(_writer, _request, checksum: true);
        return _writer.WrittenCount;
    }

    /// <summary>Reads one request frame from a message.</summary>
    [Benchmark]
    public int DecodeRequest()
    {
        var reader = new MessageReader(_single);
        reader.TryRead(out var frame);
        return frame.Payload.Length;
    }

    /// <summary>A merged message of 64 request frames (what the outbound queue writes under load).</summary>
    [Benchmark(OperationsPerInvoke = MergedFrames)]
    public int EncodeMerged64()
    {
        _writer.Clear();
        WriteMerged(_writer);
        return _writer.WrittenCount;
    }

    /// <summary>Reads every frame of a merged message of 64.</summary>
    [Benchmark(OperationsPerInvoke = MergedFrames)]
    public int DecodeMerged64()
    {
        var reader = new MessageReader(_merged);
        var total = 0;
        while (reader.TryRead(out var frame))
        {
            total += frame.Payload.Length;
        }

        return total;
    }

    private void WriteMerged(PooledBufferWriter writer)
    {
        FrameCodec.WriteMergedHeader(writer);
        for (var i = 0; i < MergedFrames; i++)
        {
            FrameCodec.Write(writer, _request, checksum: false);
        }

        FrameCodec.CompleteMergedHeader(writer.WrittenSpan, MergedFrames);
    }

    private static byte[] Encode(Action<PooledBufferWriter> write)
    {
        using var writer = new PooledBufferWriter();
        write(writer);
        return writer.WrittenSpan.ToArray();
    }
}
