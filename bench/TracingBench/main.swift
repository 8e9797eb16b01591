// Tracing off costs nothing: the helpers every request, call, transaction and event passes
// through (`CirrusTracing.span`, `.call`, `.outgoing`, `HTTPHeaders.propagateTrace`), timed with
// CIRRUS_TRACING off (this process never bootstraps a tracer) against doing the same work
// directly, in nanoseconds per call on one thread. Run with bench/tracing.sh (release build).
import CirrusContracts
import CirrusServiceKit
import Foundation
import NIOHTTP1

@inline(never) func work(_ i: Int) async -> Int { i &* 31 &+ 7 }
@inline(never) func blackHole(_ value: Int) { if value == 42 { print("") } }

@main
struct TracingBench {
    static func main() async {
        let iterations = Int(ProcessInfo.processInfo.environment["BENCH_ITERATIONS"] ?? "") ?? 5_000_000
        precondition(!CirrusTracing.enabled, "the off path is measured: nothing bootstraps a tracer here")
        let base = TraceContext(traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", requestID: "bench-request")
        print("| operation (CIRRUS_TRACING=off) | ns per call | the same work done directly, ns | difference, ns |")
        print("|---|---|---|---|")
        let direct = await measure(iterations) { await work($0) }
        let span = await measure(iterations) { i in await CirrusTracing.span("bench") { await work(i) } }
        row("`CirrusTracing.span` around an async call (SQL transactions, consumer spans)", span, direct)
        let call = await measure(iterations) { i in await CirrusTracing.call("GET", "blob") { await work(i) } }
        row("`CirrusTracing.call` around an async call (calls between services)", call, direct)
        let plain = await measure(iterations) { i in TraceScope.$current.withValue(base) { TraceScope.current.requestID!.utf8.count &+ i } }
        let outgoing = await measure(iterations) { i in
            TraceScope.$current.withValue(base) { CirrusTracing.outgoing().requestID!.utf8.count &+ i }
        }
        row("`CirrusTracing.outgoing()` (the context an event or call carries)", outgoing, plain)
        let manual = await measure(iterations / 10) { i in
            var headers = HTTPHeaders()
            headers.replaceOrAdd(name: "X-Request-Id", value: base.requestID!)
            headers.replaceOrAdd(name: "traceparent", value: base.traceparent!)
            return headers.count &+ i
        }
        let propagated = await measure(iterations / 10) { i in
            await TraceScope.$current.withValue(base) {
                var headers = HTTPHeaders()
                headers.propagateTrace()
                return headers.count &+ i
            }
        }
        row("`HTTPHeaders.propagateTrace()` vs setting the two headers by hand", propagated, manual)
        print("\n\(iterations) iterations each (the header rows \(iterations / 10)); one thread.")
    }

    static func measure(_ iterations: Int, _ body: @Sendable (Int) async -> Int) async -> Double {
        var accumulated = 0
        for i in 0..<(iterations / 10) { accumulated &+= await body(i) }  // warm up
        let start = ContinuousClock.now
        for i in 0..<iterations { accumulated &+= await body(i) }
        let elapsed = ContinuousClock.now - start
        blackHole(accumulated)
        let nanoseconds = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        return nanoseconds / Double(iterations)
    }

    static func row(_ label: String, _ measured: Double, _ baseline: Double) {
        print("| \(label) | \(format(measured)) | \(format(baseline)) | \(format(measured - baseline)) |")
    }

    static func format(_ value: Double) -> String { String(format: "%.1f", value) }
}
