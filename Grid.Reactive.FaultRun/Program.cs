// The fault run's node program: one process per node. Roles: "serve" (answers calls), "load" (also issues calls
// to every other node and keeps the books), "relay" (the userspace latency relay), "check" (the checker's own check),
// "certs" (a private CA and a certificate per node, for --tls). See README.md beside this file.
using System.Runtime.InteropServices;
using Grid.Reactive.FaultRun;

NodeArgs parsed;
try
{
    parsed = NodeArgs.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine("usage: --role serve|load|relay|check|certs --address ip:port --nodes ip:port,ip:port,... [--secret s] [--concurrency 4] [--think 0ms] "
        + "[--deadline 2s] [--grace 3s] [--ping-interval 1s] [--ping-timeout 3s] [--books books.json] [--faults faults.log] "
        + "[--ready file] [--max-connections N] [--tls-dir dir] [--corrupt-every N (serve)] [--listen ip --control file (relay)]");
    return 64;
}

using var stop = new CancellationTokenSource();
void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stop.Cancel();
}

using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
return parsed.Role switch
{
    "serve" => await GridNode.ServeAsync(parsed, stop.Token),
    "load" => await LoadNode.RunAsync(parsed, stop.Token),
    "relay" => await LatencyRelay.RunAsync(parsed, stop.Token),
    "check" => SelfCheck.Run(),
    "certs" => NodeCertificates.Write(parsed),
    _ => 64,
};
