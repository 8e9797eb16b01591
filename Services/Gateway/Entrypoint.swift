import CirrusServiceKit
import Foundation
import Logging

/// Process-level setup only: configuration, logging, then the service.
@main
struct Entrypoint {
    static func main() async {
        let configuration: ServiceConfiguration
        let upstreams: Upstreams
        let settings: GatewaySettings
        let linkSigner: LinkSigner
        do {
            let reader = ConfigReader()
            configuration = try ServiceConfiguration(service: "gateway", usesDatabase: false)
            upstreams = try Upstreams(reader: reader)
            settings = try GatewaySettings(reader: reader, configuration: configuration)
            linkSigner = try LinkSigner(reader: reader)
        } catch {
            FileHandle.standardError.write(Data("cirrus-gateway: \(error)\n".utf8))
            exit(2)
        }
        CirrusLogging.bootstrap(service: configuration.service, level: configuration.logLevel, format: configuration.logFormat)
        let logger = Logger(label: "cirrus.gateway")
        do {
            try await GatewayApp.run(configuration: configuration, upstreams: upstreams, settings: settings, linkSigner: linkSigner, logger: logger)
        } catch {
            logger.critical("gateway stopped on error", metadata: ["error": "\(String(reflecting: error))"])
            exit(1)
        }
    }
}
