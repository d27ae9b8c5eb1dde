namespace Grid.Reactive;

/// <summary>Which side of a handshake a proof is made by; part of what the proof covers, so one side's proof never passes for the other's.</summary>
public enum HandshakeRole
{
    /// <summary>The node that dialed: it proves itself first, answering the acceptor's challenge.</summary>
    Dialer = 1,

    /// <summary>The node that accepted: it proves itself only after the dialer has.</summary>
    Acceptor = 2,
}
