using System.Reactive.Linq;
using Grid.Reactive;
using Grid.Reactive.Testing;
using Microsoft.Reactive.Testing;

// The README's virtual-time example, as a user writes it with the Grid.Reactive.Testing package alone.
var priceLookup = new HandlerId(1);
var scheduler = new TestScheduler();
await using var grid = new SimulatedGrid(new SimulationOptions
{
    Nodes = ["shop", "prices"],
    Scheduler = scheduler,
    Setup = node => node.Register(priceLookup, item => Observable.Timer(TimeSpan.FromSeconds(2), scheduler).Select(_ => "9.99"u8.ToArray())),
}).Start();
scheduler.AdvanceTo(TimeSpan.FromMilliseconds(10).Ticks);

var answer = scheduler.CreateObserver<byte[]>();
grid["shop"].Connection("prices").Request(priceLookup, "book"u8.ToArray(), TimeSpan.FromSeconds(5)).Subscribe(answer);
scheduler.AdvanceTo(TimeSpan.FromSeconds(5).Ticks);

if (answer.Messages.Count == 0 || answer.Messages[0].Value.Kind != System.Reactive.NotificationKind.OnNext
    || System.Text.Encoding.UTF8.GetString(answer.Messages[0].Value.Value) != "9.99")
{
    Console.Error.WriteLine($"console smoke: unexpected answer {string.Join(", ", answer.Messages)}");
    return 1;
}

var first = answer.Messages[0];

Console.WriteLine($"console smoke: answered 9.99 at virtual {TimeSpan.FromTicks(first.Time)}");
return 0;
