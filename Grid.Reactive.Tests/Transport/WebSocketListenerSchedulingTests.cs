using Grid.Reactive.Transport;
using NUnit.Framework;

namespace Grid.Reactive.Tests.Transport;

/// <summary>
/// The self-hosted listener's Kestrel runs the grid's reads and writes inline on the socket's own completions instead of
/// hopping to Kestrel's I/O queues first: nothing the grid runs there blocks (user code always hops off the link), and
/// each hop is a thread-pool work item per message on the accepting side (issue 12's mesh: several Kestrel servers in
/// one process, one message per call).
/// </summary>
public sealed class WebSocketListenerSchedulingTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Test]
    public async Task A_self_hosted_listener_schedules_socket_io_inline()
    {
        var transport = new WebSocketTransport();
        var listener = await transport.ListenAsync(FreePort.NextAddress(), new LinkSettings(MaxMessageSize: 64 * 1024), _ => { }, CancellationToken.None);
        try
        {
            Assert.That(listener, Is.InstanceOf<WebSocketListener>());
            Assert.That(((WebSocketListener)listener).SchedulesInline, Is.True);
        }
        finally
        {
            await listener.DisposeAsync().AsTask().WaitAsync(Guard);
        }
    }
}
