using System.Diagnostics;
using System.Globalization;
using SharpFuzz;

namespace Grid.Reactive.Fuzz;

/// <summary>
/// The fuzzing harness. Modes:
/// <list type="bullet">
/// <item><c>frames</c> or <c>handshake</c>: one target under afl-fuzz (SharpFuzz's fork server; the input on stdin).</item>
/// <item><c>--replay [--mutations N] [--seed S] [--corpus DIR]</c>: every target over its whole corpus plus N seeded
/// mutations of it, in-process, without AFL; exits 1 on any contract violation, 3 on a hang (the CI step).</item>
/// <item><c>--run TARGET FILE...</c>: one target over given files (an AFL crash, say), with the outcome of each.</item>
/// <item><c>--make-corpus [DIR]</c>: writes the seed corpus (default: the project's corpus folder).</item>
/// </list>
/// </summary>
internal static class Program
{
    private const int DefaultSeed = 20_261_202;
    private const int DefaultMutations = 100_000;
    private static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(5);

    // What the replay worker is running, for the watchdog.
    private static long s_inputStarted;
    private static volatile string? s_current;
    private static volatile byte[]? s_currentInput;

    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            Console.WriteLine("usage: Grid.Reactive.Fuzz frames|handshake            (under afl-fuzz; input on stdin)");
            Console.WriteLine("       Grid.Reactive.Fuzz --replay [--mutations N] [--seed S] [--corpus DIR]");
            Console.WriteLine("       Grid.Reactive.Fuzz --run frames|handshake FILE...");
            Console.WriteLine("       Grid.Reactive.Fuzz --make-corpus [DIR]");
            return args.Length == 0 ? 2 : 0;
        }

        return args[0] switch
        {
            "--replay" => Replay(args[1..]),
            "--run" when args.Length >= 3 => RunFiles(args[1], args[2..]),
            "--make-corpus" => MakeCorpus(args.Length > 1 ? args[1] : DefaultCorpusSource()),
            var target when Targets.Names.Contains(target) => Afl(target),
            _ => Usage(args[0]),
        };
    }

    private static int Usage(string arg)
    {
        Console.Error.WriteLine($"Unknown argument '{arg}'. Try --help.");
        return 2;
    }

    /// <summary>The AFL entry point: SharpFuzz's fork server runs the target once per input.</summary>
    private static int Afl(string target)
    {
        var warmedUp = false;
        Fuzzer.Run(stream =>
        {
            if (!warmedUp)
            {
                // First-use statics and JIT-time allocations must not count against the first input.
                Targets.WarmUp();
                warmedUp = true;
            }

            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            Targets.Run(target, buffer.ToArray()); // anything but a ProtocolException escapes: a crash for AFL
        });
        return 0;
    }

    private static int MakeCorpus(string root)
    {
        var count = CorpusGenerator.Write(root);
        Console.WriteLine($"Wrote {count} seed inputs under {Path.GetFullPath(root)}.");
        return 0;
    }

    /// <summary>
    /// Runs a target over files (or every file in given folders: an AFL queue, its crashes), prints each violation
    /// and a summary: how many were accepted, and each distinct reason for refusal (numbers masked) with its count.
    /// </summary>
    private static int RunFiles(string target, string[] paths)
    {
        var files = paths.SelectMany(p => Directory.Exists(p) ? Directory.GetFiles(p).Order(StringComparer.Ordinal).ToArray() : [p]).ToArray();
        Targets.WarmUp();
        int accepted = 0, failed = 0;
        var reasons = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var input = File.ReadAllBytes(file);
            try
            {
                if (Targets.Run(target, input, out var refusal) == Outcome.Accepted)
                {
                    accepted++;
                }
                else
                {
                    var reason = MaskNumbers(refusal?.Message ?? "?");
                    reasons[reason] = reasons.GetValueOrDefault(reason) + 1;
                }

                if (files.Length <= 10)
                {
                    Console.WriteLine($"{file}: {(refusal is null ? "accepted" : "refused: " + refusal.Message)}");
                }
            }
            catch (Exception ex)
            {
                failed++;
                Console.WriteLine($"{file}: VIOLATION {ex.GetType().Name}: {ex.Message}");
                Console.WriteLine($"  input ({input.Length} bytes): {Convert.ToHexString(input)}");
                Console.WriteLine(ex);
            }
        }

        Console.WriteLine($"{target}: {files.Length} inputs: {accepted} accepted, {files.Length - accepted - failed} refused, {failed} violations.");
        Console.WriteLine($"{reasons.Count} distinct refusal reasons:");
        foreach (var (reason, count) in reasons.OrderByDescending(r => r.Value).ThenBy(r => r.Key, StringComparer.Ordinal))
        {
            Console.WriteLine($"  {count,6}  {reason}");
        }

        return failed == 0 ? 0 : 1;
    }

    /// <summary>A refusal's message with its offsets, counts and hex values masked, so that reasons group by kind.</summary>
    private static string MaskNumbers(string message)
    {
        var masked = System.Text.RegularExpressions.Regex.Replace(message, "0x[0-9a-fA-F]+|-?[0-9]+", "#");
        return masked.Length > 160 ? masked[..160] + "..." : masked;
    }

    private static int Replay(string[] args)
    {
        var mutations = DefaultMutations;
        var seed = DefaultSeed;
        var corpusRoot = Path.Combine(AppContext.BaseDirectory, "corpus");
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--mutations" when i + 1 < args.Length:
                    mutations = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--seed" when i + 1 < args.Length:
                    seed = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--corpus" when i + 1 < args.Length:
                    corpusRoot = args[++i];
                    break;
                default:
                    return Usage(args[i]);
            }
        }

        var result = 0;
        var worker = new Thread(() => result = ReplayAll(corpusRoot, mutations, seed), maxStackSize: 16 * 1024 * 1024)
        {
            IsBackground = true,
            Name = "replay",
        };
        var total = Stopwatch.StartNew();
        worker.Start();
        while (!worker.Join(100))
        {
            var started = Interlocked.Read(ref s_inputStarted);
            if (started != 0 && Stopwatch.GetElapsedTime(started) > HangLimit)
            {
                var input = s_currentInput ?? [];
                Console.WriteLine($"HANG: {s_current} ran over {HangLimit.TotalSeconds:0} s.");
                Console.WriteLine($"  input ({input.Length} bytes): {Convert.ToHexString(input)}");
                return 3;
            }
        }

        Console.WriteLine($"Replay took {total.Elapsed.TotalSeconds:0.0} s.");
        return result;
    }

    private static int ReplayAll(string corpusRoot, int mutations, int seed)
    {
        Targets.WarmUp();
        var violations = 0;
        foreach (var target in Targets.Names)
        {
            var dir = Path.Combine(corpusRoot, target);
            var files = Directory.Exists(dir) ? Directory.GetFiles(dir).Order(StringComparer.Ordinal).ToArray() : [];
            if (files.Length == 0)
            {
                Console.WriteLine($"{target}: no corpus under {dir}.");
                violations++;
                continue;
            }

            var corpus = files.Select(File.ReadAllBytes).ToArray();
            int accepted = 0, refused = 0, failed = 0;
            long slowestTicks = 0;

            void One(string what, byte[] input)
            {
                s_current = $"{target} {what}";
                s_currentInput = input;
                var started = Stopwatch.GetTimestamp();
                Interlocked.Exchange(ref s_inputStarted, started);
                try
                {
                    if (Targets.Run(target, input) == Outcome.Accepted)
                    {
                        accepted++;
                    }
                    else
                    {
                        refused++;
                    }
                }
                catch (Exception ex)
                {
                    failed++;
                    if (failed <= 5)
                    {
                        Console.WriteLine($"VIOLATION in {target} {what}: {ex.GetType().Name}: {ex.Message}");
                        Console.WriteLine($"  input ({input.Length} bytes): {Convert.ToHexString(input)}");
                        Console.WriteLine($"  {ex.StackTrace?.Split('\n').FirstOrDefault()?.Trim()}");
                    }
                }

                slowestTicks = Math.Max(slowestTicks, Stopwatch.GetTimestamp() - started);
                Interlocked.Exchange(ref s_inputStarted, 0);
            }

            for (var i = 0; i < corpus.Length; i++)
            {
                One($"corpus {Path.GetFileName(files[i])}", corpus[i]);
            }

            // Mutations start three times as often from the generated seeds (valid encodings, mostly) as from the
            // inputs kept from AFL campaigns (afl-*.bin, refused mostly), so that most mutants are still near-valid.
            var generated = corpus.Where((_, i) => !Path.GetFileName(files[i]).StartsWith("afl-", StringComparison.Ordinal)).ToArray();
            byte[][] pool = [.. generated, .. generated, .. generated, .. corpus];
            for (var i = 0; i < mutations; i++)
            {
                One($"mutation {i} (seed {seed})", Mutator.Mutate(pool, Mutator.IterationRandom(seed, i)));
            }

            var slowest = TimeSpan.FromSeconds((double)slowestTicks / Stopwatch.Frequency);
            Console.WriteLine($"{target}: {corpus.Length} corpus inputs + {mutations} mutations (seed {seed}): "
                + $"{accepted} accepted, {refused} refused, {failed} violations; slowest input {slowest.TotalMilliseconds:0.0} ms.");
            violations += failed;
        }

        Console.WriteLine(violations == 0 ? "Fuzz replay: no contract violation." : $"Fuzz replay: {violations} contract violations.");
        return violations == 0 ? 0 : 1;
    }

    /// <summary>The project's corpus folder when run from the source tree (dotnet run), else ./corpus.</summary>
    private static string DefaultCorpusSource()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Grid.Reactive.Fuzz.csproj")))
            {
                return Path.Combine(dir.FullName, "corpus");
            }
        }

        return "corpus";
    }
}
