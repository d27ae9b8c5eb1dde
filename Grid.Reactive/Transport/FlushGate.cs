namespace Grid.Reactive.Transport;

/// <summary>
/// Lets a link run at most one writer pass at a time without losing a flush request: a request that arrives while a
/// pass runs makes that pass loop once more instead of starting a second one. Lock-free; one instance per link.
/// </summary>
/// <remarks>
/// Protocol: a requester calls <see cref="TryBegin"/> and, when it returns true, starts a pass (it now owns the writer
/// context). The pass writes until the handler has nothing left, then calls <see cref="TryEnd"/>: true means the pass is
/// over and the gate is idle; false means a request came in meanwhile, so the pass must go round again. A pass that
/// stops for good without calling <see cref="TryEnd"/> (its link closed) keeps the gate busy forever, so no later pass starts.
/// </remarks>
internal sealed class FlushGate
{
    private const int Idle = 0;
    private const int Running = 1;
    private const int RunningRequested = 2;

    private int _state;

    /// <summary>True when no pass runs: the caller must start one. Otherwise marks the running pass to go round again.</summary>
    public bool TryBegin()
    {
        while (true)
        {
            switch (Volatile.Read(ref _state))
            {
                case Idle:
                    if (Interlocked.CompareExchange(ref _state, Running, Idle) == Idle)
                    {
                        return true;
                    }

                    break;
                case Running:
                    if (Interlocked.CompareExchange(ref _state, RunningRequested, Running) == Running)
                    {
                        return false;
                    }

                    break;
                default:
                    return false;
            }
        }
    }

    /// <summary>
    /// Called by the running pass when the handler had nothing more to write. True: the gate is idle and the pass must
    /// end. False: a request arrived during the pass, which must ask the handler again.
    /// </summary>
    public bool TryEnd()
    {
        if (Interlocked.CompareExchange(ref _state, Idle, Running) == Running)
        {
            return true;
        }

        // Only the pass leaves RunningRequested, so a plain write cannot race with a requester.
        Volatile.Write(ref _state, Running);
        return false;
    }
}
