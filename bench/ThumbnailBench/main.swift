// cirrus-bench-thumbnail: renders the thumbnail of one image file N times on C threads exactly
// as the thumbnail service renders one size (Services/Thumbnail/Domain/RenderCoordinator.swift),
// and prints one JSON line: {"images_per_second": …, "p50_ms": …, "p95_ms": …}.
//
//   cirrus-bench-thumbnail --height H --iterations N --concurrency C [--format jpeg|webp] [--quality Q] FILE
//
// Like the service: libvips is initialised once with the service's defaults (ThumbnailSettings:
// 32 MiB operation cache, at most 50 cached operations, one libvips worker per pipeline); each
// render reads the file's declared size from its header (Vips.dimensions, the pixel-limit check
// against 100,000,000 pixels), then calls Vips.thumbnail(ofFile:height:maxWidth:format:quality:)
// with maxWidth = 4 × height, JPEG quality 80 unless told otherwise; renders run on a pool of C
// threads. The service gives every render a new scratch file, so libvips' operation cache never
// returns an earlier result: each iteration here reads its own hard link of FILE (made before
// timing; a copy when a link is impossible), the bytes coming from the page cache as the service's
// freshly written scratch file does. Not timed (as in the service's render timer): fetching the
// original from blob, storing and indexing the result.
//
// Timing: one untimed warm-up render first; then per render the time from the header read to the
// encoded bytes (the latency, p50/p95 by nearest rank), and images_per_second = N ÷ the wall time
// from the threads' common start to the last render. Details (libvips version, output size,
// threads) go to standard error; a render whose size is not the one the service would produce
// stops the benchmark (exit 1).
import CirrusVips
import Dispatch
import Foundation

struct Options {
    var height = 0
    var iterations = 0
    var concurrency = 0
    var format = Vips.Format.jpeg
    var quality = 80
    var file = ""

    static let usage = "usage: cirrus-bench-thumbnail --height H --iterations N --concurrency C [--format jpeg|webp] [--quality Q] FILE"

    init(arguments: [String]) throws {
        var rest = arguments[...]
        func number(_ flag: String, _ range: ClosedRange<Int>) throws -> Int {
            guard let raw = rest.popFirst(), let value = Int(raw), range.contains(value) else {
                throw UsageError("\(flag) needs a whole number in \(range.lowerBound)...\(range.upperBound)")
            }
            return value
        }
        while let argument = rest.popFirst() {
            switch argument {
            case "--height": height = try number(argument, 16...4096)
            case "--iterations": iterations = try number(argument, 1...1_000_000)
            case "--concurrency": concurrency = try number(argument, 1...64)
            case "--quality": quality = try number(argument, 1...100)
            case "--format":
                guard let raw = rest.popFirst(), let parsed = Vips.Format(rawValue: raw) else { throw UsageError("--format must be jpeg or webp") }
                format = parsed
            case "-h", "--help": throw UsageError(nil)
            default:
                if argument.hasPrefix("-") { throw UsageError("unknown option \(argument)") }
                guard file.isEmpty else { throw UsageError("only one FILE") }
                file = argument
            }
        }
        if height == 0 || iterations == 0 || concurrency == 0 || file.isEmpty {
            throw UsageError("--height, --iterations, --concurrency and FILE are required")
        }
    }
}

struct UsageError: Error {
    var message: String?
    init(_ message: String?) { self.message = message }
}

/// The service's render of one size (RenderCoordinator.render), for one source file.
struct Render {
    static let maxPixels = 100_000_000  // ThumbnailSettings.maxPixels
    let height: Int
    let format: Vips.Format
    let quality: Int

    func callAsFunction(_ path: String) throws -> (bytes: Int, width: Int, height: Int) {
        let dimensions = try Vips.dimensions(ofFile: path)
        guard dimensions.width * dimensions.height <= Self.maxPixels else {
            throw BenchError("\(dimensions.width)x\(dimensions.height) is more than the \(Self.maxPixels) pixels the service allows")
        }
        let image = try Vips.thumbnail(ofFile: path, height: height, maxWidth: height * 4, format: format, quality: quality)
        return (image.bytes.count, image.width, image.height)
    }
}

/// What the threads share: the next iteration to render, the latencies, the first error.
final class Work: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private var latencies: [Double] = []
    private var failure: String?
    let total: Int

    init(total: Int) {
        self.total = total
        latencies.reserveCapacity(total)
    }

    /// The next iteration's index, or nil when all are taken or one failed.
    func take() -> Int? {
        lock.withLock {
            guard failure == nil, next < total else { return nil }
            next += 1
            return next - 1
        }
    }

    func record(milliseconds: Double) { lock.withLock { latencies.append(milliseconds) } }
    func fail(_ message: String) { lock.withLock { if failure == nil { failure = message } } }
    var result: (latencies: [Double], failure: String?) { lock.withLock { (latencies, failure) } }
}

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

/// Nearest-rank percentile of sorted values.
func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted[max(0, min(sorted.count - 1, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1))]
}

func fail(_ message: String, code: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data("cirrus-bench-thumbnail: \(message)\n".utf8))
    exit(code)
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The size the service would produce: fits `height` high and 4 × height wide, never upscaled.
func expectedSize(of source: (width: Int, height: Int), height: Int) -> (width: Int, height: Int) {
    let scale = min(1, Double(height * 4) / Double(source.width), Double(height) / Double(source.height))
    return (Int((Double(source.width) * scale).rounded()), Int((Double(source.height) * scale).rounded()))
}

func benchmark(_ options: Options) throws -> String {
    // As ThumbnailApp.run (Services/Thumbnail/ThumbnailApp.swift): Vips.initialize(maxCacheMemory: settings.vipsCacheBytes).
    try Vips.initialize(maxCacheMemory: 32 << 20)
    let render = Render(height: options.height, format: options.format, quality: options.quality)

    // One hard link (or copy) of the file per iteration and one for the warm-up, so every render
    // opens a path libvips has not seen (as the service's scratch files).
    let fileManager = FileManager.default
    let source = URL(fileURLWithPath: options.file).standardizedFileURL
    let scratch = fileManager.temporaryDirectory.appendingPathComponent("cirrus-bench-thumbnail-\(UUID().uuidString.lowercased())")
    let ext = source.pathExtension.isEmpty ? "" : "." + source.pathExtension
    try fileManager.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? fileManager.removeItem(at: scratch) }
    var copies = 0
    var paths: [String] = []
    for index in 0...options.iterations {
        let path = scratch.appendingPathComponent("\(index)\(ext)").path
        do {
            try fileManager.linkItem(atPath: source.path, toPath: path)
        } catch {
            try fileManager.copyItem(atPath: source.path, toPath: path)
            copies += 1
        }
        paths.append(path)
    }

    let declared = try Vips.dimensions(ofFile: paths[0])
    let warm = try render(paths[0])
    let expected = expectedSize(of: declared, height: options.height)
    guard abs(warm.width - expected.width) <= 1, abs(warm.height - expected.height) <= 1 else {
        throw BenchError(
            "rendered \(warm.width)x\(warm.height) from \(declared.width)x\(declared.height); the service's size is \(expected.width)x\(expected.height)"
        )
    }
    FileHandle.standardError.write(
        Data(
            """
            cirrus-bench-thumbnail: libvips \(Vips.version), \(declared.width)x\(declared.height) → \(warm.width)x\(warm.height) \
            \(options.format.rawValue) (\(warm.bytes) bytes), \(options.iterations) renders on \(options.concurrency) threads\
            \(copies > 0 ? " (\(copies) copies: hard links impossible)" : "")

            """.utf8))

    let work = Work(total: options.iterations)
    let start = DispatchSemaphore(value: 0)
    let done = DispatchGroup()
    let clock = ContinuousClock()
    let renders = paths.dropFirst().map { $0 }
    for _ in 0..<options.concurrency {
        done.enter()
        let thread = Thread {
            start.wait()
            while let index = work.take() {
                let began = clock.now
                do {
                    let image = try render(renders[index])
                    work.record(milliseconds: milliseconds(clock.now - began))
                    if image.width != warm.width || image.height != warm.height { work.fail("render \(index) gave \(image.width)x\(image.height)") }
                } catch {
                    work.fail("render \(index) failed: \(error)")
                }
            }
            done.leave()
        }
        thread.stackSize = 8 << 20  // as the service's pool threads (the platform's default)
        thread.start()
    }
    let began = clock.now
    for _ in 0..<options.concurrency { start.signal() }
    done.wait()
    let wall = clock.now - began

    let (latencies, failure) = work.result
    if let failure { throw BenchError(failure) }
    let sorted = latencies.sorted()
    let perSecond = Double(sorted.count) / (milliseconds(wall) / 1000)
    return String(
        format: "{\"images_per_second\": %.2f, \"p50_ms\": %.2f, \"p95_ms\": %.2f}", perSecond, percentile(sorted, 50), percentile(sorted, 95))
}

do {
    let options = try Options(arguments: Array(CommandLine.arguments.dropFirst()))
    guard FileManager.default.isReadableFile(atPath: options.file) else { fail("cannot read \(options.file)", code: 2) }
    print(try benchmark(options))
} catch let error as UsageError {
    if let message = error.message { fail("\(message)\n\(Options.usage)", code: 2) }
    print(Options.usage)
} catch {
    fail("\(error)")
}
