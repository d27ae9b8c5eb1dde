using System.Net;
using System.Reactive.Disposables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Grid.Reactive.Membership;

/// <summary>
/// The DNS host set as a cold observable: each subscription looks the name up at once, then again
/// <see cref="DnsMembershipOptions.Interval"/> after each lookup ends, and emits the set of <c>ip:port</c> whenever it
/// differs from the last one emitted. A failed, timed-out or empty lookup keeps the last set (logged once until a
/// lookup succeeds again); the sequence never errors.
/// </summary>
internal sealed class DnsMembership(DnsMembershipOptions options) : IObservable<IReadOnlyCollection<string>>
{
    public IDisposable Subscribe(IObserver<IReadOnlyCollection<string>> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var poll = new Poll(options, observer);
        poll.Next(TimeSpan.Zero);
        return poll;
    }

    /// <summary>One subscription's lookups: at most one at a time, then the next one scheduled after it.</summary>
    private sealed class Poll(DnsMembershipOptions options, IObserver<IReadOnlyCollection<string>> observer) : IDisposable
    {
        private readonly ILogger _logger = options.Logger ?? NullLogger.Instance;
        private readonly SerialDisposable _timer = new();
        private readonly CancellationTokenSource _stop = new();
        private string[]? _last;
        private bool _failing;

        public void Next(TimeSpan delay)
        {
            if (_stop.IsCancellationRequested)
            {
                return;
            }

            _timer.Disposable = options.Scheduler.Schedule(this, delay, static (scheduler, self) =>
            {
                _ = self.LookupAsync();
                return Disposable.Empty;
            });
        }

        public void Dispose()
        {
            _timer.Dispose();
            _stop.Cancel();
        }

        private async Task LookupAsync()
        {
            IPAddress[]? addresses = null;
            Exception? failure = null;
            using var lookup = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            using (options.Scheduler.Schedule(lookup, options.LookupTimeout, static (_, cts) =>
            {
                try
                {
                    cts.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // The lookup ended and its token source was disposed while this timer fired: nothing to cancel.
                }

                return Disposable.Empty;
            }))
            {
                try
                {
                    // A resolver that answers at once (a test's) continues inline, so virtual time stays deterministic.
                    addresses = await options.Resolver(options.HostName, lookup.Token).WaitAsync(lookup.Token).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // Any failure of a lookup keeps the last set; the next lookup tries again.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    failure = ex is OperationCanceledException && !_stop.IsCancellationRequested
                        ? new TimeoutException($"The lookup took longer than the LookupTimeout of {options.LookupTimeout}.", ex)
                        : ex;
                }
            }

            if (_stop.IsCancellationRequested)
            {
                return;
            }

            var hosts = addresses is null ? null : Hosts(addresses);
            if (hosts is null || hosts.Length == 0)
            {
                if (!_failing)
                {
                    _failing = true;
                    _logger.LogWarning("DNS lookup of {HostName} {Outcome}; keeping the last host set ({Count} hosts) until a lookup answers: {Reason}",
                        options.HostName, failure is null ? "found no addresses" : "failed", _last?.Length ?? 0, failure?.Message ?? "empty answer");
                }
            }
            else
            {
                if (_failing)
                {
                    _failing = false;
                    _logger.LogInformation("DNS lookup of {HostName} answers again ({Count} hosts)", options.HostName, hosts.Length);
                }

                if (_last is null || !_last.AsSpan().SequenceEqual(hosts))
                {
                    _last = hosts;
                    observer.OnNext(Array.AsReadOnly(hosts));
                }
            }

            Next(options.Interval);
        }

        private string[] Hosts(IPAddress[] addresses)
        {
            var hosts = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var address in addresses)
            {
                if (options.AddressFamily is not { } family || address.AddressFamily == family)
                {
                    hosts.Add(new IPEndPoint(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address, options.Port).ToString());
                }
            }

            return [.. hosts];
        }
    }
}
