using Grid.Reactive.Tests.Support;
using Microsoft.Extensions.Logging;
using static Grid.Reactive.Tests.Connections.ConnectionStateTests;

namespace Grid.Reactive.Tests.Diagnostics;

public sealed class LoggingTests
{
    [Test]
    public async Task APeerDownFor20Redials_IsOneWarning_ThenDebug_ThenInformationWhenItComesBack()
    {
        using var logs = new FakeLoggerFactory();
        var (dialer, acceptor) = Pair("a", "b");
        await using var grid = new VirtualGrid([dialer, acceptor], o => o with { LoggerFactory = logs });
        grid.Start(dialer);
        var connection = grid[dialer].Connection(acceptor);
        var dials = 0;
        using var counting = connection.Subscribe(s => dials += s == ConnectionState.Connecting ? 1 : 0);

        while (dials < 21)
        {
            grid.RunMs(100);
        }

        var warnings = logs.Collector.GetSnapshot().Where(r => r.Level >= LogLevel.Warning).ToList();
        Assert.That(warnings, Has.Count.EqualTo(1), string.Join("\n", warnings.Select(w => w.Message)));
        Assert.That(warnings[0].Id.Id, Is.EqualTo(2003));
        Assert.That(warnings[0].Id.Name, Is.EqualTo("PeerUnreachable"));
        Assert.That(warnings[0].Category, Is.EqualTo("Grid.Reactive.Connection"));
        Assert.That(logs.Records(2004), Has.Count.GreaterThanOrEqualTo(19));
        Assert.That(logs.Records(2004).Select(r => r.Level).Distinct(), Is.EqualTo(new[] { LogLevel.Debug }));

        grid.Start(acceptor);
        grid.RunMs(3000);

        Assert.That(connection.State, Is.EqualTo(ConnectionState.Connected));
        var back = logs.Records(2005);
        Assert.That(back, Has.Count.EqualTo(1));
        Assert.That(back[0].Level, Is.EqualTo(LogLevel.Information));
        Assert.That(back[0].Message, Does.Contain("is reachable again").And.Contain(acceptor));
        Assert.That(logs.Records(2001).Select(r => r.Category), Has.All.EqualTo("Grid.Reactive.Connection"));
        Assert.That(logs.Collector.GetSnapshot().Count(r => r.Level >= LogLevel.Warning), Is.EqualTo(1), "nothing more to warn about");
    }

    [Test]
    public async Task AHealthyGrid_LogsNothingAboveInformation_AndOnlyConnectionsAtInformation()
    {
        using var logs = new FakeLoggerFactory();
        await using var grid = new VirtualGrid(["a", "b", "c"], o => o with { LoggerFactory = logs }).StartAll();
        foreach (var name in grid.Names)
        {
            TestHandlers.RegisterBasics(grid[name]);
        }

        grid.RunMs(50);
        var answers = 0;
        for (var i = 0; i < 20; i++)
        {
            grid["a"].Connection("b").Request(TestHandlers.Echo, TestHandlers.Bytes("x")).Subscribe(_ => answers++);
        }

        grid.RunMs(10_000);

        Assert.That(answers, Is.EqualTo(20));
        var records = logs.Collector.GetSnapshot();
        Assert.That(records.Where(r => r.Level >= LogLevel.Warning), Is.Empty);
        Assert.That(records.Where(r => r.Level == LogLevel.Information).Select(r => r.Id.Id).Distinct(), Is.EqualTo(new[] { 2001 }),
            "one Connected line per link end, nothing per call or ping");
        Assert.That(records.Count(r => r.Id.Id == 2001), Is.EqualTo(6), "three links, logged on both sides");
    }

    [Test]
    public async Task APeerWithTheWrongSecret_IsRefusedWithOneWarningOnEachSide_HoweverOftenItRedials()
    {
        using var dialerLogs = new FakeLoggerFactory();
        using var acceptorLogs = new FakeLoggerFactory();
        var (dialer, acceptor) = Pair("a", "b");
        await using var grid = new VirtualGrid([dialer, acceptor]);
        grid.Start(acceptor, grid.OptionsFor(acceptor) with { LoggerFactory = acceptorLogs });
        grid.Start(dialer, grid.OptionsFor(dialer) with
        {
            LoggerFactory = dialerLogs,
            Authenticator = new SharedSecretAuthenticator("another secret, long enough for the authenticator"u8.ToArray()),
        });

        grid.RunMs(20_000);

        var refused = acceptorLogs.Records(3004);
        Assert.That(refused, Has.Count.EqualTo(1));
        Assert.That(refused[0].Level, Is.EqualTo(LogLevel.Warning));
        Assert.That(refused[0].Category, Is.EqualTo("Grid.Reactive.Session"));
        Assert.That(refused[0].Message, Does.Contain("(auth)"));
        Assert.That(acceptorLogs.Records(3005), Is.Not.Empty, "the repeats are Debug");
        Assert.That(acceptorLogs.Collector.GetSnapshot().Count(r => r.Level >= LogLevel.Warning), Is.EqualTo(1));
        Assert.That(dialerLogs.Collector.GetSnapshot().Where(r => r.Level >= LogLevel.Warning).Select(r => r.Id.Id), Is.EqualTo(new[] { 2003 }));
    }

    [Test]
    public async Task TheSingleLoggerOption_StillGetsEveryCategory()
    {
        var logger = new CapturingLogger();
        var (dialer, acceptor) = Pair("a", "b");
        await using var grid = new VirtualGrid([dialer, acceptor], o => o with { Logger = logger });
        grid.Start(dialer);
        grid.RunMs(1000);

        Assert.That(logger.Lines.Any(l => l.Level == LogLevel.Warning && l.Text.Contains("Cannot connect", StringComparison.Ordinal)), Is.True);
    }
}
