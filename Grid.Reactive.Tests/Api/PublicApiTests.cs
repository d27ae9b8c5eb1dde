using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;

namespace Grid.Reactive.Tests.Api;

/// <summary>
/// Each package's public surface, listed from its built assembly and compared with its <c>PublicAPI.txt</c>
/// (<c>Grid.Reactive/PublicAPI.txt</c>, <c>Grid.Reactive.AspNetCore/PublicAPI.txt</c>, <c>Grid.Reactive.Testing/PublicAPI.txt</c>),
/// so that every change to the API is a visible diff in review. When the change is intended, copy
/// <c>PublicAPI.received.txt</c> (written next to it on a mismatch) over <c>PublicAPI.txt</c>.
/// </summary>
public sealed class PublicApiTests
{
    private static readonly Type[] Packages = [typeof(Manager), typeof(WebSocketTransport), typeof(Testing.SimulatedGrid)];

    [TestCaseSource(nameof(Packages))]
    public void PublicApi_MatchesTheApprovedListing(Type typeInPackage)
    {
        var assembly = typeInPackage.Assembly;
        var listing = Describe(assembly);
        var approvedPath = Path.Combine(RepositoryRoot(), assembly.GetName().Name!, "PublicAPI.txt");
        Assert.That(approvedPath, Does.Exist, "The approved listing is missing.");
        var approved = File.ReadAllText(approvedPath).ReplaceLineEndings("\n");
        if (approved == listing)
        {
            return;
        }

        var receivedPath = Path.ChangeExtension(approvedPath, ".received.txt");
        File.WriteAllText(receivedPath, listing);
        var added = listing.Split('\n').Except(approved.Split('\n')).Take(20);
        var removed = approved.Split('\n').Except(listing.Split('\n')).Take(20);
        Assert.Fail($"The public API changed. Review and, if intended, copy {receivedPath} over {approvedPath}.\n" +
            $"Added:\n  {string.Join("\n  ", added)}\nRemoved:\n  {string.Join("\n  ", removed)}");
    }

    // The folder holding Grid.Reactive.sln, found from the test binaries' folder. Not [CallerFilePath]: a CI build
    // (CI=true, ContinuousIntegrationBuild) maps source paths to "/_/", which exists on no machine.
    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Grid.Reactive.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"No Grid.Reactive.sln above {AppContext.BaseDirectory}.");
    }

    private static string Describe(Assembly assembly)
    {
        var lines = new List<string>();
        foreach (var type in assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            lines.Add($"{Kind(type)} {Name(type)}{Bases(type)}");
            const BindingFlags Visible = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
            var members = type.GetMembers(Visible)
                .Where(m => m is not MethodInfo { IsSpecialName: true } && !IsCompilerGenerated(m))
                .Select(m => "  " + Member(m))
                .Order(StringComparer.Ordinal);
            lines.AddRange(members);
        }

        return string.Join("\n", lines) + "\n";
    }

    private static bool IsCompilerGenerated(MemberInfo member) =>
        member.GetCustomAttribute<CompilerGeneratedAttribute>() is not null
        || member.Name is "<Clone>$" or "EqualityContract";

    private static string Kind(Type type) =>
        type.IsEnum ? "enum"
        : type.IsInterface ? "interface"
        : type.IsValueType ? (type.GetCustomAttribute<IsReadOnlyAttribute>() is not null ? "readonly struct" : "struct")
        : typeof(Delegate).IsAssignableFrom(type) ? "delegate"
        : type.IsAbstract && type.IsSealed ? "static class"
        : type.IsSealed ? "sealed class"
        : type.IsAbstract ? "abstract class"
        : "class";

    private static string Bases(Type type)
    {
        var bases = new List<string>();
        if (type.BaseType is { } baseType && baseType != typeof(object) && baseType != typeof(ValueType) && baseType != typeof(Enum)
            && baseType != typeof(MulticastDelegate))
        {
            bases.Add(Name(baseType));
        }

        bases.AddRange(type.GetInterfaces().Where(i => i.IsPublic || i.IsNestedPublic).Select(Name).Order(StringComparer.Ordinal));
        return bases.Count == 0 ? "" : " : " + string.Join(", ", bases);
    }

    private static string Member(MemberInfo member) => member switch
    {
        ConstructorInfo c => $"ctor({Parameters(c.GetParameters())})",
        MethodInfo m => $"{(m.IsStatic ? "static " : "")}{Name(m.ReturnType)} {m.Name}{Generic(m)}({Parameters(m.GetParameters())})",
        PropertyInfo p => $"{Name(p.PropertyType)} {p.Name} {{{(p.GetMethod?.IsPublic == true ? " get;" : "")}{Setter(p)} }}",
        FieldInfo f => $"{(f.IsLiteral ? "const " : f.IsStatic ? "static " : "")}{Name(f.FieldType)} {f.Name}{(f.IsLiteral ? " = " + f.GetRawConstantValue() : "")}",
        EventInfo e => $"event {Name(e.EventHandlerType!)} {e.Name}",
        Type t => $"nested {Name(t)}",
        _ => member.ToString()!,
    };

    private static string Setter(PropertyInfo property)
    {
        var setter = property.SetMethod;
        if (setter is null || !setter.IsPublic)
        {
            return "";
        }

        var init = setter.ReturnParameter.GetRequiredCustomModifiers().Any(m => m == typeof(IsExternalInit));
        return init ? " init;" : " set;";
    }

    private static string Generic(MethodInfo method) =>
        method.IsGenericMethodDefinition ? "<" + string.Join(", ", method.GetGenericArguments().Select(a => a.Name)) + ">" : "";

    private static string Parameters(ParameterInfo[] parameters) =>
        string.Join(", ", parameters.Select(p => $"{Name(p.ParameterType)} {p.Name}{(p.HasDefaultValue ? " = " + (p.DefaultValue ?? "null") : "")}"));

    private static string Name(Type type)
    {
        if (type.IsByRef)
        {
            return "ref " + Name(type.GetElementType()!);
        }

        if (type.IsArray)
        {
            return Name(type.GetElementType()!) + "[]";
        }

        if (type.IsGenericParameter)
        {
            return type.Name;
        }

        var name = type.IsNested ? Name(type.DeclaringType!) + "." + type.Name : type.Namespace + "." + type.Name;
        if (!type.IsGenericType)
        {
            return name;
        }

        var arity = name.IndexOf('`', StringComparison.Ordinal);
        var builder = new StringBuilder(arity >= 0 ? name[..arity] : name);
        builder.Append('<').Append(string.Join(", ", type.GetGenericArguments().Select(Name))).Append('>');
        return builder.ToString();
    }
}
