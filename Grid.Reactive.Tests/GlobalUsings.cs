global using System.Reactive.Linq;
global using NUnit.Framework;
