using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Grid.Reactive.Membership;

/// <summary>
/// The host set read from configuration as a cold observable: each subscription emits the set the selector picks
/// from the current options, then again on every reload whose set differs from the last one emitted. A selector that
/// throws on a reload keeps the last set (logged); the sequence never errors after the first value.
/// </summary>
internal sealed class OptionsMembership<TOptions>(IOptionsMonitor<TOptions> monitor, Func<TOptions, IEnumerable<string>> selector, string? name, ILogger? logger)
    : IObservable<IReadOnlyCollection<string>>
{
    private readonly IOptionsMonitor<TOptions> _monitor = monitor;
    private readonly Func<TOptions, IEnumerable<string>> _selector = selector;
    private readonly string _name = name ?? Options.DefaultName;
    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    public IDisposable Subscribe(IObserver<IReadOnlyCollection<string>> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var watch = new Watch(this, observer);
        return watch.Start();
    }

    private sealed class Watch(OptionsMembership<TOptions> source, IObserver<IReadOnlyCollection<string>> observer)
    {
        private readonly Lock _gate = new();
        private string[]? _last;
        private bool _stopped;

        public IDisposable Start()
        {
            // Registered first, so a reload that lands while the first value is read is not lost; the lock orders the two.
            var registration = source._monitor.OnChange((options, changed) =>
            {
                if (string.Equals(changed ?? Options.DefaultName, source._name, StringComparison.Ordinal))
                {
                    Emit(options, reload: true);
                }
            });
            Emit(source._monitor.Get(source._name), reload: false);
            return System.Reactive.Disposables.Disposable.Create(() =>
            {
                lock (_gate)
                {
                    _stopped = true;
                }

                registration?.Dispose();
            });
        }

        private void Emit(TOptions options, bool reload)
        {
            lock (_gate)
            {
                if (_stopped)
                {
                    return;
                }

                string[] hosts;
                try
                {
                    hosts = [.. source._selector(options).Where(h => !string.IsNullOrWhiteSpace(h)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
                }
#pragma warning disable CA1031 // The selector is the caller's code: on a reload its failure keeps the last set.
                catch (Exception ex) when (reload)
#pragma warning restore CA1031
                {
                    source._logger.LogError(ex, "Reading the grid's host set from reloaded options failed; keeping the last set ({Count} hosts): {Reason}",
                        _last?.Length ?? 0, ex.Message);
                    return;
                }

                if (_last is not null && _last.AsSpan().SequenceEqual(hosts))
                {
                    return;
                }

                _last = hosts;
                observer.OnNext(Array.AsReadOnly(hosts));
            }
        }
    }
}
