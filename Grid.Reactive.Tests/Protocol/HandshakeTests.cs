using System.Text;
using Grid.Reactive.Protocol;
using NUnit.Framework;
using static Grid.Reactive.Tests.Protocol.FrameTestHelpers;

namespace Grid.Reactive.Tests.Protocol;

[TestFixture]
public sealed class HandshakeTests
{
    private const int Seed = 7_1234;
    private static readonly byte[] Secret = Encoding.UTF8.GetBytes("a shared grid secret of 32 bytes");

    private static readonly HandshakeClaims Claims =
        new(ProtocolConstants.Version, "ws://node-a:5000", "ws://node-b:5000", DateTimeOffset.FromUnixTimeMilliseconds(1_750_000_000_123), 0xDEADBEEFCAFEUL, false);

    private static string Describe(HandshakeMessage m) =>
        $"{m.Version}|{m.From}|{m.To}|{m.ClockUnixMs}|{m.InstanceId}|{Convert.ToHexString(m.Token)}";

    private static void AssertRejected(byte[] payload, string expectedText) =>
        Assert.That(() => HandshakeCodec.Decode(payload), Throws.TypeOf<ProtocolException>().With.Message.Contains(expectedText).IgnoreCase,
            Convert.ToHexString(payload));

    private static byte[] Raw6(object?[] values) => RawFrame(values.Length, values);

    // ---- codec ----

    [Test]
    public void Codec_round_trips()
    {
        HandshakeMessage[] messages =
        [
            new(1, "a", "b", 0, 0, []),
            new(ProtocolConstants.Version, "ws://node-a:5000/grid", "ws://nöde-b:5000/日本", 1_750_000_000_123, ulong.MaxValue, [1, 2, 3]),
            new(int.MinValue, "", "", DateTimeOffset.MinValue.ToUnixTimeMilliseconds(), 1, new byte[32]),
            new(int.MaxValue, new string('x', HandshakeCodec.MaxAddressBytes), new string('y', HandshakeCodec.MaxAddressBytes),
                DateTimeOffset.MaxValue.ToUnixTimeMilliseconds(), 42, new byte[HandshakeCodec.MaxTokenBytes]),
            new(-1, "a", "b", -1, long.MaxValue, [0xff]),
        ];
        foreach (var message in messages)
        {
            var decoded = HandshakeCodec.Decode(HandshakeCodec.Encode(message));
            Assert.That(Describe(decoded), Is.EqualTo(Describe(message)));
            Assert.That(decoded.Claims(true).Clock.ToUnixTimeMilliseconds(), Is.EqualTo(message.ClockUnixMs));
        }
    }

    [Test]
    public void Encode_refuses_what_decode_would_refuse()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => HandshakeCodec.Encode(new(1, new string('x', 1025), "b", 0, 0, [])), Throws.ArgumentException);
            Assert.That(() => HandshakeCodec.Encode(new(1, "a", new string('é', 513), 0, 0, [])), Throws.ArgumentException);
            Assert.That(() => HandshakeCodec.Encode(new(1, "a\udc00", "b", 0, 0, [])), Throws.ArgumentException);
            Assert.That(() => HandshakeCodec.Encode(new(1, "a", "b", 0, 0, new byte[1025])), Throws.ArgumentException);
            Assert.That(() => HandshakeCodec.Encode(new(1, "a", "b", long.MaxValue, 0, [])), Throws.ArgumentException);
        });
    }

    [Test]
    public void Decode_rejects_malformed_handshakes()
    {
        AssertRejected([], "empty handshake");
        AssertRejected(Raw6([1, "a", "b", 0, 0]), "array of 5 elements");
        AssertRejected(Raw6([1, "a", "b", 0, 0, new byte[1], 7]), "array of 7 elements");
        AssertRejected(Raw6([1, "a", "b", 0, 0, null]), "token at offset 8 is nil");
        AssertRejected(Raw6([1, "a", null, 0, 0, new byte[1]]), "to at offset 4: expected a string");
        AssertRejected(Raw6([1, new string('x', 1025), "b", 0, 0, new byte[1]]), "from at offset 2 is 1025 bytes long");
        AssertRejected(Raw6([1, "a", "b", 0, 0, new byte[1025]]), "token at offset 8 is 1025 bytes long");
        AssertRejected(Raw6([1L << 31, "a", "b", 0, 0, new byte[1]]), "version 2147483648");
        AssertRejected(Raw6([1, "a", "b", long.MaxValue, 0, new byte[1]]), "outside the range of DateTimeOffset");
        AssertRejected(Raw6([1, "a", "b", 0, -1, new byte[1]]), "instanceId -1");
        AssertRejected(Raw6([1, "a", "b", "0", 0, new byte[1]]), "clockUnixMs at offset 6: expected an integer");
        AssertRejected([.. Raw6([1, "a", "b", 0, 0, new byte[1]]), 0xc0], "trailing bytes");
        var badUtf8 = Raw6([1, "ab", "b", 0, 0, new byte[1]]);
        badUtf8[3] = 0xc3; // "a" followed by an incomplete two-byte sequence
        badUtf8[4] = 0x28;
        AssertRejected(badUtf8, "from at offset 2 is not valid UTF-8");
    }

    [Test]
    public void Decode_is_total()
    {
        var valid = HandshakeCodec.Encode(new HandshakeMessage(1, "ws://a:1", "ws://b:2", 1_750_000_000_000, 77, new byte[32]));
        var inputs = 0;
        for (var length = 0; length < valid.Length; length++)
        {
            Assert.That(() => HandshakeCodec.Decode(valid.AsMemory(0, length)), Throws.TypeOf<ProtocolException>(), $"prefix {length}");
            inputs++;
        }

        byte[] interesting = [0x00, 0x7f, 0x96, 0xa0, 0xbf, 0xc0, 0xc1, 0xc4, 0xc6, 0xcf, 0xd3, 0xd9, 0xdb, 0xdd, 0xff];
        for (var i = 0; i < 20_000; i++)
        {
            var rng = new Random(unchecked((Seed * 31) + i));
            var bytes = (byte[])valid.Clone();
            for (var m = rng.Next(1, 4); m > 0; m--)
            {
                var at = rng.Next(bytes.Length);
                switch (rng.Next(4))
                {
                    case 0: bytes[at] ^= (byte)(1 << rng.Next(8)); break;
                    case 1: bytes[at] = (byte)rng.Next(256); break;
                    case 2: bytes[at] = interesting[rng.Next(interesting.Length)]; break;
                    default: bytes = bytes[..at]; break;
                }

                if (bytes.Length == 0)
                {
                    break;
                }
            }

            try
            {
                var decoded = HandshakeCodec.Decode(bytes);
                _ = decoded.Claims(false); // a decoded message always makes valid claims
            }
            catch (ProtocolException)
            {
            }
            catch (Exception ex)
            {
                Assert.Fail($"{ex.GetType().Name} for seed={Seed} iteration={i} input {Convert.ToHexString(bytes)}: {ex}");
            }

            inputs++;
        }

        Assert.That(inputs, Is.EqualTo(valid.Length + 20_000));
    }

    // ---- authenticator ----

    [Test]
    public void Valid_tokens_verify()
    {
        var authenticator = new SharedSecretAuthenticator(Secret);
        var token = authenticator.CreateToken(Claims);
        Assert.That(token, Has.Length.EqualTo(32));
        Assert.That(authenticator.Validate(Claims, token), Is.True);
        Assert.That(new SharedSecretAuthenticator(Secret).Validate(Claims, token), Is.True, "another instance with the same secret");
        Assert.That(authenticator.CreateToken(Claims), Is.EqualTo(token), "deterministic");
        var response = Claims with { IsResponse = true };
        Assert.That(authenticator.Validate(response, authenticator.CreateToken(response)), Is.True);
    }

    [Test]
    public void Tokens_survive_the_wire_and_sub_millisecond_clocks()
    {
        var authenticator = new SharedSecretAuthenticator(Secret);
        var claims = Claims with { Clock = Claims.Clock.AddTicks(1234) }; // sub-millisecond part is not sent
        var sent = new HandshakeMessage(claims.ProtocolVersion, claims.From, claims.To, claims.Clock.ToUnixTimeMilliseconds(),
            claims.InstanceId, authenticator.CreateToken(claims));
        var received = HandshakeCodec.Decode(HandshakeCodec.Encode(sent));
        Assert.That(authenticator.Validate(received.Claims(isResponse: false), received.Token), Is.True);
        Assert.That(authenticator.Validate(received.Claims(isResponse: true), received.Token), Is.False);
    }

    [Test]
    public void Wrong_secret_fails()
    {
        var token = new SharedSecretAuthenticator(Secret).CreateToken(Claims);
        var other = (byte[])Secret.Clone();
        other[0] ^= 1;
        Assert.That(new SharedSecretAuthenticator(other).Validate(Claims, token), Is.False);
    }

    [Test]
    public void Every_modified_claim_fails()
    {
        var authenticator = new SharedSecretAuthenticator(Secret);
        var token = authenticator.CreateToken(Claims);
        HandshakeClaims[] modified =
        [
            Claims with { ProtocolVersion = Claims.ProtocolVersion + 1 },
            Claims with { From = Claims.From + "x" },
            Claims with { From = "" },
            Claims with { To = Claims.To.ToUpperInvariant() },
            Claims with { Clock = Claims.Clock.AddMilliseconds(1) },
            Claims with { InstanceId = Claims.InstanceId ^ 1 },
            Claims with { IsResponse = true },
            Claims with { From = Claims.To, To = Claims.From },
        ];
        foreach (var claims in modified)
        {
            Assert.That(authenticator.Validate(claims, token), Is.False, claims.ToString());
        }
    }

    [Test]
    public void Address_boundaries_are_unambiguous()
    {
        var authenticator = new SharedSecretAuthenticator(Secret);
        var token = authenticator.CreateToken(Claims with { From = "ab", To = "c" });
        Assert.That(authenticator.Validate(Claims with { From = "a", To = "bc" }, token), Is.False);
        Assert.That(authenticator.Validate(Claims with { From = "ab", To = "c" }, token), Is.True);
    }

    [Test]
    public void Tampered_tokens_fail()
    {
        var authenticator = new SharedSecretAuthenticator(Secret);
        var token = authenticator.CreateToken(Claims);
        var flipped = (byte[])token.Clone();
        flipped[31] ^= 0x80;
        Assert.Multiple(() =>
        {
            Assert.That(authenticator.Validate(Claims, token.AsSpan(0, 31)), Is.False, "truncated");
            Assert.That(authenticator.Validate(Claims, token.AsSpan(0, 16)), Is.False, "half");
            Assert.That(authenticator.Validate(Claims, ReadOnlySpan<byte>.Empty), Is.False, "empty");
            Assert.That(authenticator.Validate(Claims, [.. token, 0]), Is.False, "extended");
            Assert.That(authenticator.Validate(Claims, flipped), Is.False, "bit flip");
        });
    }

    [Test]
    public void Secret_is_checked_and_copied()
    {
        Assert.That(() => new SharedSecretAuthenticator(new byte[15]), Throws.ArgumentException);
        Assert.That(() => new SharedSecretAuthenticator(ReadOnlySpan<byte>.Empty), Throws.ArgumentException);
        var secret = (byte[])Secret.Clone();
        var authenticator = new SharedSecretAuthenticator(secret);
        var token = authenticator.CreateToken(Claims);
        Array.Clear(secret);
        Assert.That(authenticator.Validate(Claims, token), Is.True);
        Assert.That(new SharedSecretAuthenticator(new byte[16]).CreateToken(Claims), Has.Length.EqualTo(32));
    }

    [Test]
    public void Long_and_invalid_addresses()
    {
        var authenticator = new SharedSecretAuthenticator(Secret);
        var longClaims = Claims with { From = new string('日', 2000), To = new string('b', 5000) }; // past the stack buffer
        Assert.That(authenticator.Validate(longClaims, authenticator.CreateToken(longClaims)), Is.True);
        Assert.That(authenticator.Validate(longClaims with { To = new string('b', 4999) }, authenticator.CreateToken(longClaims)), Is.False);

        var invalid = Claims with { From = "a\ud800b" };
        Assert.That(() => authenticator.CreateToken(invalid), Throws.ArgumentException);
        Assert.That(authenticator.Validate(invalid, authenticator.CreateToken(Claims)), Is.False);
    }

    [Test]
    public void Authenticator_is_thread_safe()
    {
        var authenticator = new SharedSecretAuthenticator(Secret);
        var failures = 0;
        Parallel.For(0, 2_000, i =>
        {
            var claims = Claims with { InstanceId = (ulong)i, IsResponse = i % 2 == 0 };
            var token = authenticator.CreateToken(claims);
            if (!authenticator.Validate(claims, token) || authenticator.Validate(claims with { InstanceId = (ulong)i + 1 }, token))
            {
                Interlocked.Increment(ref failures);
            }
        });
        Assert.That(failures, Is.Zero);
    }
}
