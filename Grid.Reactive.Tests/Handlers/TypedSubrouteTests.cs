using Grid.Reactive.Tests.Streams;
using Grid.Reactive.Tests.Support;

namespace Grid.Reactive.Tests.Handlers;

/// <summary>One typed descriptor, many subroutes: the subroute is chosen per registration and per call.</summary>
public sealed class TypedSubrouteTests
{
    private static readonly TypedRequest<Query, string> DiskInfo = new(new HandlerId(62));
    private static readonly TypedRequest<Query, string> WithDefault = new(new HandlerId(63), subroute: "disk-1");
    private static readonly TypedStream<Query, Reading, Reading> Walk = new(new HandlerId(64), new StreamHandlerOptions { InCapacity = 0 });
    private static readonly string[] Disks = ["disk-1", "disk-2", "disk-3"];

    private VirtualGrid _grid = null!;

    [SetUp]
    public void SetUp()
    {
        _grid = new VirtualGrid(["a", "b"]).StartAll();
        _grid.RunMs(10);
    }

    [TearDown]
    public async Task TearDown() => await _grid.DisposeAsync();

    [Test]
    public void OneDescriptor_ServesThreeSubroutes_WithOneContextHandler()
    {
        foreach (var disk in Disks)
        {
            DiskInfo.Register(_grid["b"], (query, context) => ValueTask.FromResult($"{context.Subroute}:{query.Prefix}"), disk);
        }

        var answers = Disks.Select(disk => DiskInfo.CallAsync(_grid["a"].Connection("b"), new Query("info", 1), subroute: disk)).ToList();
        var observed = _grid.Scheduler.CreateObserver<string>();
        DiskInfo.Call(_grid["a"].Connection("b"), new Query("rx", 1), subroute: "disk-2").Subscribe(observed);
        var unserved = DiskInfo.CallAsync(_grid["a"].Connection("b"), new Query("info", 1), subroute: "disk-4");
        _grid.RunMs(10);

        Assert.That(answers.Select(a => a.Result), Is.EqualTo(new[] { "disk-1:info", "disk-2:info", "disk-3:info" }));
        Assert.That(observed.Messages[0].Value.Value, Is.EqualTo("disk-2:rx"));
        Assert.That(unserved.Exception?.InnerException, Is.TypeOf<HandlerNotFoundException>().With.Message.Contains("disk-4"));
    }

    [Test]
    public void TheConstructorsSubroute_IsTheDefault_AndAPerCallSubrouteOverridesIt()
    {
        WithDefault.Register(_grid["b"], (query, _) => ValueTask.FromResult("default:" + query.Prefix));
        WithDefault.Register(_grid["b"], (query, _) => ValueTask.FromResult("other:" + query.Prefix), "disk-9");

        var byDefault = WithDefault.CallAsync(_grid["a"].Connection("b"), new Query("x", 1));
        var overridden = WithDefault.CallAsync(_grid["a"].Connection("b"), new Query("y", 1), subroute: "disk-9");
        _grid.RunMs(10);

        Assert.That(byDefault.Result, Is.EqualTo("default:x"));
        Assert.That(overridden.Result, Is.EqualTo("other:y"));
    }

    [Test]
    public void TypedStream_RegisteredAndOpenedPerSubroute_ReachesThatSubroutesHandler()
    {
        foreach (var disk in Disks)
        {
            Walk.Register(_grid["b"], async (stream, cancellationToken) =>
                await stream.SendAsync(new Reading(stream.Context.Subroute!, stream.Payload.Limit), cancellationToken), disk);
        }

        var seen = _grid.Scheduler.CreateObserver<string>();
        Walk.Open(_grid["a"].Connection("b"), new Query("", 3), subroute: "disk-3").Select(r => $"{r.Sensor}/{r.Value}").Subscribe(seen);
        _grid.RunMs(10);

        Assert.That(seen.Messages[0].Value.Value, Is.EqualTo("disk-3/3"));
    }
}
