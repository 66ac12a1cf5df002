import Foundation
import Rewind

extension GroupChat {
    /// A point of a chat's run from which it can be continued.
    public struct Milestone: Sendable, Hashable {
        /// `conversation_start`, or `message_appended#N` for the N-th message (from 1).
        public var name: String
        /// The marker's position in the journal.
        public var seq: Int
        /// How many messages the chat held there.
        public var messages: Int
    }

    /// The milestones of a chat's run, in order.
    public static func milestones(of id: RunID, in store: any RunStore) async throws -> [Milestone] {
        var milestones: [Milestone] = []
        for entry in try await store.journal(of: id) where entry.kind == .marker {
            if entry.name == "conversation_start" {
                milestones.append(Milestone(name: "conversation_start", seq: entry.seq, messages: 0))
            } else if entry.name == "message_appended" {
                let index = milestones.count
                milestones.append(Milestone(name: "message_appended#\(index)", seq: entry.seq, messages: index))
            }
        }
        return milestones
    }

    /// Continues a chat's run from a milestone with more rounds, as a new run that shares the
    /// original's journal up to the milestone and is isolated from it and from other
    /// continuations (it is a fork: `rewind runs --tree` lists it under the original).
    ///
    /// - Parameters:
    ///   - milestone: `conversation_start`, `message_appended#N`, `last`, or a marker's seq.
    ///   - additionalRounds: how many more messages the continuation may add after the milestone.
    /// - Returns: the continuation's record; it runs in `runtime` (which must have the chat's
    ///   workflow registered).
    /// - Throws: ``GroupChatError`` for an unknown milestone or a run that is not a group chat;
    ///   errors of ``Runtime/fork(_:at:setting:replacing:id:start:)``.
    @discardableResult
    public static func continuation(
        of id: RunID, at milestone: String, additionalRounds: Int, runtime: Runtime, id childID: RunID? = nil
    ) async throws -> RunRecord {
        guard additionalRounds > 0 else {
            throw GroupChatError("additionalRounds must be at least 1, not \(additionalRounds).")
        }
        let milestones = try await milestones(of: id, in: runtime.store)
        guard !milestones.isEmpty else {
            throw GroupChatError(
                "Run \(id) has no group chat milestones: it is not a group chat, or it has not started.")
        }
        let found: Milestone?
        if milestone == "last" {
            found = milestones.last
        } else if let seq = Int(milestone) {
            found = milestones.first { $0.seq == seq }
        } else {
            found = milestones.first { $0.name == milestone }
        }
        guard let point = found else {
            let names = milestones.map { "\($0.name) (seq \($0.seq))" }
            let shown = names.count > 8 ? names.prefix(4) + ["…"] + names.suffix(3) : names[...]
            throw GroupChatError(
                "Run \(id) has no milestone \"\(milestone)\". Its milestones: \(shown.joined(separator: ", ")); or use \"last\"."
            )
        }
        return try await runtime.fork(
            id, at: point.seq + 1,
            setting: [.set(JSONPath(components: ["maxRounds"]), .int(point.messages + additionalRounds))], id: childID,
            start: true)
    }
}
