using System.Globalization;

namespace Grid.Reactive;

/// <summary>
/// Names a handler on the wire. Every node of a grid must agree on what each id means; 0 is reserved.
/// Define them once, for example as <c>static readonly HandlerId Echo = new(1);</c>, and share them.
/// </summary>
public readonly record struct HandlerId
{
    /// <summary>Creates a handler id.</summary>
    /// <param name="value">The id, 1 to 65535.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> is 0.</exception>
    public HandlerId(ushort value)
    {
        ArgumentOutOfRangeException.ThrowIfZero(value);
        Value = value;
    }

    /// <summary>The id as sent on the wire.</summary>
    public ushort Value { get; }

    /// <summary>Returns the id as text.</summary>
    /// <returns>The id as text.</returns>
    public override string ToString() => Value.ToString(CultureInfo.InvariantCulture);
}
