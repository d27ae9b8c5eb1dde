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
    private static readonly byte[] NewSecret = Encoding.UTF8.GetBytes("the next grid secret, 32 bytes..");

    private static byte[] Nonce(int seed) => Enumerable.Range(0, HandshakeCodec.NonceBytes).Select(i => (byte)(i * seed)).ToArray();

    private static readonly HandshakeClaims Claims =
        new(ProtocolConstants.Version, HandshakeRole.Dialer, "ws://node-a:5000", "ws://node-b:5000", 0xDEADBEEFCAFEUL, 0xB0B0UL,
            Nonce(3), Nonce(5), DateTimeOffset.FromUnixTimeMilliseconds(1_750_000_000_123));

    private static string Describe(HandshakeMessage m) =>
        $"{m.Version}|{m.From}|{m.To}|{m.ClockUnixMs}|{m.InstanceId}|{Convert.ToHexString(m.Nonce)}|{m.MaxMessageSize}|{m.MaxCallsInFlight}";

    private static void AssertRejected(byte[] payload, string expectedText) =>
        Assert.That(() => HandshakeCodec.Decode(payload), Throws.TypeOf<ProtocolException>().With.Message.Contains(expectedText).IgnoreCase,
            Convert.ToHexString(payload));

    private static byte[] Raw8(object?[] values) => RawFrame(values.Length, values);

    // ---- codec ----

    [Test]
    public void Codec_round_trips()
    {
        HandshakeMessage[] messages =
        [
            new(1, "a", "b", 0, 0, Nonce(1)),
            new(ProtocolConstants.Version, "ws://node-a:5000/grid", "ws://nöde-b:5000/日本", 1_750_000_000_123, ulong.MaxValue, Nonce(2), 16 << 20, 8192),
            new(int.MinValue, "", "", DateTimeOffset.MinValue.ToUnixTimeMilliseconds(), 1, Nonce(0)),
            new(int.MaxValue, new string('x', HandshakeCodec.MaxAddressBytes), new string('y', HandshakeCodec.MaxAddressBytes),
                DateTimeOffset.MaxValue.ToUnixTimeMilliseconds(), 42, Nonce(255), int.MaxValue, int.MaxValue),
            new(-1, "a", "b", -1, long.MaxValue, Nonce(7)),
        ];
        foreach (var message in messages)
        {
            Assert.That(Describe(HandshakeCodec.Decode(HandshakeCodec.Encode(message))), Is.EqualTo(Describe(message)));
        }

        var challenge = new HandshakeChallenge(ProtocolConstants.Version, ulong.MaxValue, Nonce(9), 1024, 7);
        var decoded = HandshakeCodec.DecodeChallenge(HandshakeCodec.Encode(challenge));
        Assert.That((decoded.Version, decoded.InstanceId, decoded.Nonce, decoded.MaxMessageSize, decoded.MaxCallsInFlight),
            Is.EqualTo((challenge.Version, challenge.InstanceId, challenge.Nonce, challenge.MaxMessageSize, challenge.MaxCallsInFlight)));
        Assert.That(HandshakeCodec.DecodeProof(HandshakeCodec.EncodeProof([1, 2, 3])), Is.EqualTo(new byte[] { 1, 2, 3 }));
        Assert.That(HandshakeCodec.ReadVersion(HandshakeCodec.Encode(challenge)), Is.EqualTo(ProtocolConstants.Version));
        Assert.That(HandshakeCodec.ReadVersion(HandshakeCodec.Encode(messages[3])), Is.EqualTo(int.MaxValue));
    }

    [Test]
    public void Encode_refuses_what_decode_would_refuse()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => HandshakeCodec.Encode(new HandshakeMessage(1, new string('x', 1025), "b", 0, 0, Nonce(1))), Throws.ArgumentException);
            Assert.That(() => HandshakeCodec.Encode(new HandshakeMessage(1, "a", new string('é', 513), 0, 0, Nonce(1))), Throws.ArgumentException);
            Assert.That(() => HandshakeCodec.Encode(new HandshakeMessage(1, "a\udc00", "b", 0, 0, Nonce(1))), Throws.ArgumentException);
            Assert.That(() => HandshakeCodec.Encode(new HandshakeMessage(1, "a", "b", 0, 0, new byte[31])), Throws.ArgumentException);
            Assert.That(() => HandshakeCodec.Encode(new HandshakeMessage(1, "a", "b", long.MaxValue, 0, Nonce(1))), Throws.ArgumentException);
            Assert.That(() => HandshakeCodec.Encode(new HandshakeChallenge(1, 0, new byte[33])), Throws.ArgumentException);
            Assert.That(() => HandshakeCodec.EncodeProof(new byte[1025]), Throws.ArgumentException);
        });
    }

    [Test]
    public void Decode_rejects_malformed_handshakes()
    {
        var n = Nonce(1);
        AssertRejected([], "empty handshake");
        AssertRejected(Raw8([1, "a", "b", 0, 0, n, 0]), "array of 7 elements; expected 8");
        AssertRejected(Raw8([1, "a", "b", 0, 0, n, 0, 0, 0]), "array of 9 elements");
        AssertRejected(Raw8([1, "a", "b", 0, 0, null, 0, 0]), "nonce at offset 8 is nil");
        AssertRejected(Raw8([1, "a", "b", 0, 0, new byte[31], 0, 0]), "nonce at offset 8 is 31 bytes long; expected 32");
        AssertRejected(Raw8([1, "a", "b", 0, 0, new byte[33], 0, 0]), "nonce at offset 8 is 33 bytes long");
        AssertRejected(Raw8([1, "a", null, 0, 0, n, 0, 0]), "to at offset 4: expected a string");
        AssertRejected(Raw8([1, new string('x', 1025), "b", 0, 0, n, 0, 0]), "from at offset 2 is 1025 bytes long");
        AssertRejected(Raw8([1L << 31, "a", "b", 0, 0, n, 0, 0]), "version 2147483648");
        AssertRejected(Raw8([1, "a", "b", long.MaxValue, 0, n, 0, 0]), "outside the range of DateTimeOffset");
        AssertRejected(Raw8([1, "a", "b", 0, -1, n, 0, 0]), "instanceId -1");
        AssertRejected(Raw8([1, "a", "b", "0", 0, n, 0, 0]), "clockUnixMs at offset 6: expected an integer");
        AssertRejected(Raw8([1, "a", "b", 0, 0, n, -1, 0]), "maxMessageSize -1");
        AssertRejected([.. Raw8([1, "a", "b", 0, 0, n, 0, 0]), 0xc0], "trailing bytes");
        var badUtf8 = Raw8([1, "ab", "b", 0, 0, n, 0, 0]);
        badUtf8[3] = 0xc3; // "a" followed by an incomplete two-byte sequence
        badUtf8[4] = 0x28;
        AssertRejected(badUtf8, "from at offset 2 is not valid UTF-8");

        Assert.That(() => HandshakeCodec.DecodeChallenge(Raw8([2, 0, n, 0])), Throws.TypeOf<ProtocolException>().With.Message.Contains("challenge is an array of 4 elements"));
        Assert.That(() => HandshakeCodec.DecodeChallenge(Raw8([2, 0, new byte[8], 0, 0])), Throws.TypeOf<ProtocolException>().With.Message.Contains("8 bytes long"));
        Assert.That(() => HandshakeCodec.DecodeProof(Raw8([null])), Throws.TypeOf<ProtocolException>().With.Message.Contains("token at offset 1 is nil"));
        Assert.That(() => HandshakeCodec.DecodeProof(Raw8([new byte[1025]])), Throws.TypeOf<ProtocolException>().With.Message.Contains("1025 bytes long"));
        Assert.That(() => HandshakeCodec.DecodeProof(Raw8([new byte[1], 1])), Throws.TypeOf<ProtocolException>().With.Message.Contains("proof is an array of 2"));
        Assert.That(() => HandshakeCodec.ReadVersion(Raw8([])), Throws.TypeOf<ProtocolException>().With.Message.Contains("empty array"));
        Assert.That(() => HandshakeCodec.ReadVersion(Raw8(["2"])), Throws.TypeOf<ProtocolException>().With.Message.Contains("expected an integer"));
    }

    [Test]
    public void Decode_is_total()
    {
        var valid = HandshakeCodec.Encode(new HandshakeMessage(1, "ws://a:1", "ws://b:2", 1_750_000_000_000, 77, Nonce(3), 1024, 8));
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
                _ = DateTimeOffset.FromUnixTimeMilliseconds(decoded.ClockUnixMs); // a decoded clock always makes valid claims
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
        var acceptor = Claims with { Role = HandshakeRole.Acceptor };
        Assert.That(authenticator.Validate(acceptor, authenticator.CreateToken(acceptor)), Is.True);
        Assert.That(authenticator.Validate(acceptor, token), Is.False, "the dialer's proof never passes for the acceptor's");
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
        var otherNonce = Nonce(3);
        otherNonce[^1] ^= 1;
        HandshakeClaims[] modified =
        [
            Claims with { ProtocolVersion = Claims.ProtocolVersion + 1 },
            Claims with { Role = HandshakeRole.Acceptor },
            Claims with { Dialer = Claims.Dialer + "x" },
            Claims with { Dialer = "" },
            Claims with { Acceptor = Claims.Acceptor.ToUpperInvariant() },
            Claims with { Dialer = Claims.Acceptor, Acceptor = Claims.Dialer },
            Claims with { DialerInstanceId = Claims.DialerInstanceId ^ 1 },
            Claims with { AcceptorInstanceId = Claims.AcceptorInstanceId ^ 1 },
            Claims with { DialerInstanceId = Claims.AcceptorInstanceId, AcceptorInstanceId = Claims.DialerInstanceId },
            Claims with { DialerNonce = otherNonce },
            Claims with { AcceptorNonce = Nonce(6) },
            Claims with { DialerNonce = Claims.AcceptorNonce, AcceptorNonce = Claims.DialerNonce },
            Claims with { AcceptorNonce = Claims.AcceptorNonce[..16] },
            Claims with { DialerClock = Claims.DialerClock.AddMilliseconds(1) },
            Claims with { ChannelBinding = Nonce(7) },
        ];
        foreach (var claims in modified)
        {
            Assert.That(authenticator.Validate(claims, token), Is.False, claims.ToString());
        }

        Assert.That(authenticator.Validate(Claims with { DialerNonce = Nonce(3), AcceptorNonce = Nonce(5) }, token), Is.True, "nonces compare by content");

        // A bound proof holds only for the same binding.
        var bound = Claims with { ChannelBinding = Nonce(7) };
        var boundToken = authenticator.CreateToken(bound);
        Assert.That(authenticator.Validate(bound with { ChannelBinding = Nonce(7) }, boundToken), Is.True);
        Assert.That(authenticator.Validate(Claims, boundToken), Is.False);
        Assert.That(authenticator.Validate(bound with { ChannelBinding = Nonce(8) }, boundToken), Is.False);
    }

    [Test]
    public void Boundaries_are_unambiguous()
    {
        var authenticator = new SharedSecretAuthenticator(Secret);
        var token = authenticator.CreateToken(Claims with { Dialer = "ab", Acceptor = "c" });
        Assert.That(authenticator.Validate(Claims with { Dialer = "a", Acceptor = "bc" }, token), Is.False);
        Assert.That(authenticator.Validate(Claims with { Dialer = "ab", Acceptor = "c" }, token), Is.True);
        var split = authenticator.CreateToken(Claims with { DialerNonce = new byte[] { 1, 2 }, AcceptorNonce = new byte[] { 3 } });
        Assert.That(authenticator.Validate(Claims with { DialerNonce = new byte[] { 1 }, AcceptorNonce = new byte[] { 2, 3 } }, split), Is.False);
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
            Assert.That(authenticator.Validate(Claims, [.. token, .. token, .. token]), Is.False, "more MACs than a rotation has");
            Assert.That(authenticator.Validate(Claims, flipped), Is.False, "bit flip");
        });
    }

    [Test]
    public void Rotation_accepts_both_secrets_and_proves_with_both()
    {
        var oldOnly = new SharedSecretAuthenticator(Secret);
        var both = new SharedSecretAuthenticator(NewSecret, previousSecret: Secret);
        var newOnly = new SharedSecretAuthenticator(NewSecret);

        Assert.That(both.CreateToken(Claims), Has.Length.EqualTo(64), "a MAC with each secret, the new one first");
        Assert.That(both.CreateToken(Claims)[..32], Is.EqualTo(newOnly.CreateToken(Claims)));
        Assert.That(both.CreateToken(Claims)[32..], Is.EqualTo(oldOnly.CreateToken(Claims)));
        Assert.Multiple(() =>
        {
            Assert.That(oldOnly.Validate(Claims, both.CreateToken(Claims)), Is.True, "old-only takes a rotating node's proof");
            Assert.That(newOnly.Validate(Claims, both.CreateToken(Claims)), Is.True, "new-only takes a rotating node's proof");
            Assert.That(both.Validate(Claims, oldOnly.CreateToken(Claims)), Is.True, "a rotating node takes an old-only proof");
            Assert.That(both.Validate(Claims, newOnly.CreateToken(Claims)), Is.True, "a rotating node takes a new-only proof");
            Assert.That(newOnly.Validate(Claims, oldOnly.CreateToken(Claims)), Is.False, "old and new alone never meet");
            Assert.That(both.Validate(Claims with { Role = HandshakeRole.Acceptor }, both.CreateToken(Claims)), Is.False);
        });
        Assert.That(() => new SharedSecretAuthenticator(NewSecret, new byte[15]), Throws.ArgumentException.With.Property("ParamName").EqualTo("previousSecret"));
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
        var longClaims = Claims with { Dialer = new string('日', 2000), Acceptor = new string('b', 5000) }; // past the stack buffer
        Assert.That(authenticator.Validate(longClaims, authenticator.CreateToken(longClaims)), Is.True);
        Assert.That(authenticator.Validate(longClaims with { Acceptor = new string('b', 4999) }, authenticator.CreateToken(longClaims)), Is.False);

        var invalid = Claims with { Dialer = "a\ud800b" };
        Assert.That(() => authenticator.CreateToken(invalid), Throws.ArgumentException);
        Assert.That(authenticator.Validate(invalid, authenticator.CreateToken(Claims)), Is.False);
    }

    [Test]
    public void Authenticator_is_thread_safe()
    {
        var authenticator = new SharedSecretAuthenticator(NewSecret, Secret);
        var failures = 0;
        Parallel.For(0, 2_000, i =>
        {
            var claims = Claims with { DialerInstanceId = (ulong)i, Role = i % 2 == 0 ? HandshakeRole.Dialer : HandshakeRole.Acceptor };
            var token = authenticator.CreateToken(claims);
            if (!authenticator.Validate(claims, token) || authenticator.Validate(claims with { DialerInstanceId = (ulong)i + 1 }, token))
            {
                Interlocked.Increment(ref failures);
            }
        });
        Assert.That(failures, Is.Zero);
    }
}
