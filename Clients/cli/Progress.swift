import Foundation
import Synchronization

/// A progress bar on standard error, drawn only when standard error is a terminal (so logs
/// and scripts see none) and at most ten times a second.
final class Progress: Sendable {
    private struct State {
        var done: Int64 = 0
        /// Where this run started (a resumed upload's offset): the rate counts only what it sent.
        var base: Int64 = 0
        var lastDraw: ContinuousClock.Instant?
    }

    private let label: String
    private let total: Int64
    private let started = ContinuousClock.now
    private let state = Mutex(State())

    private init(label: String, total: Int64) {
        self.label = label
        self.total = total
    }

    /// A bar, or nil when standard error is not a terminal. A `total` of 0 is an unknown size.
    static func start(_ label: String, total: Int64, startingAt done: Int64 = 0) -> Progress? {
        guard Terminal.stderrIsTerminal else { return nil }
        let progress = Progress(label: label, total: total)
        progress.state.withLock {
            $0.done = done
            $0.base = done
        }
        progress.draw(done: done)
        return progress
    }

    func advance(by count: Int) {
        let now = ContinuousClock.now
        let done: Int64? = state.withLock { state in
            state.done += Int64(count)
            if let last = state.lastDraw, now - last < .milliseconds(100) { return nil }
            state.lastDraw = now
            return state.done
        }
        if let done { draw(done: done) }
    }

    /// Moves the bar to `done` (a resumed upload: the server's offset).
    func set(done: Int64) {
        state.withLock { $0.done = done }
        draw(done: done)
    }

    /// Clears the bar's line.
    func finish() {
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    private func draw(done: Int64) {
        let fraction = total > 0 ? min(Double(done) / Double(total), 1) : 1
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let base = state.withLock { $0.base }
        let rate = seconds > 0.2 ? Output.bytes(Int64(Double(max(done - base, 0)) / seconds)) + "/s" : ""
        if total <= 0 {
            // The size is not known in advance (a streamed ZIP): the bytes so far and the rate.
            let figures = " \(Output.bytes(done)) \(rate)"
            let room = max(0, Terminal.width - figures.count - 1)
            let name = label.count > room ? "…" + label.suffix(max(0, room - 1)) : label
            FileHandle.standardError.write(Data("\r\u{1B}[K\(name)\(figures)".utf8))
            return
        }
        let figures = String(format: " %3d%% %@/%@ %@", Int(fraction * 100), Output.bytes(done), Output.bytes(total), rate)
        let columns = Terminal.width
        let barWidth = max(10, min(40, columns - figures.count - 16))
        let filled = Int(fraction * Double(barWidth))
        let bar = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: barWidth - filled) + "]"
        let room = max(0, columns - bar.count - figures.count - 2)
        let name = label.count > room ? "…" + label.suffix(max(0, room - 1)) : label
        FileHandle.standardError.write(Data("\r\u{1B}[K\(name) \(bar)\(figures)".utf8))
    }
}
