import Catalog
import Foundation
import Storage
import Synchronization

/// The enqueue-time budget check (issue 23): a job or `/v1` call whose `fail` budget is already
/// spent is refused at once, naming the budget (429 `budget_exceeded`), instead of being queued
/// only to fail at its first call. The worker's reservation stays the authority; this is the fast
/// refusal. Costs nothing while no budget exists: whether any does is remembered for at most a
/// second (so a budget created on another registry is checked here within a second; the worker
/// enforces it from its creation), and at once after this process writes one.
final class BudgetGate: Sendable {
    private let budgets: BudgetRepository
    private let maxAge: Duration
    private let known = Mutex<(exist: Bool, at: ContinuousClock.Instant)?>(nil)

    init(budgets: BudgetRepository, maxAge: Duration = .seconds(1)) {
        self.budgets = budgets
        self.maxAge = maxAge
    }

    /// This process wrote a budget: look again on the next check.
    func invalidate() {
        known.withLock { $0 = nil }
    }

    /// - Parameter waiting: the caller waits for the answer (`/v1`): a spent `defer` budget is
    ///   refused too, since its job would wait for the next period.
    func check(tenantID: UUID, apiKeyID: UUID?, agentIDs: [UUID], waiting: Bool = false) async throws {
        guard try await budgetsMayExist() else { return }
        guard let budget = try await budgets.exhausted(
            tenantID: tenantID, apiKeyID: apiKeyID, agentIDs: agentIDs, includingDeferred: waiting)
        else { return }
        throw APIError.budgetExceeded(budget)
    }

    private func budgetsMayExist() async throws -> Bool {
        let now = ContinuousClock.now
        if let cached = known.withLock({ $0 }), now - cached.at < maxAge { return cached.exist }
        let exist = try await budgets.anyExist()
        known.withLock { $0 = (exist, now) }
        return exist
    }
}

extension APIError {
    /// 429 without Retry-After: waiting a moment does not help; the period's end or a higher limit does.
    static func budgetExceeded(_ budget: BudgetRecord) -> APIError {
        let until = budget.periodEnd.map { " until \(Timestamp.string(from: $0))" } ?? ""
        let scope = budget.scopeID.map { "\(budget.scope.rawValue) \($0.uuidString.lowercased())" } ?? "global"
        return APIError(
            .tooManyRequests, code: "budget_exceeded",
            message: "budget \(budget.id.uuidString.lowercased()) (\(scope), \(budget.period.rawValue)) is exhausted: "
                + "\(budget.spentUSD) of \(budget.limitUSD) USD spent\(until)",
            details: [.init(field: "budget_id", message: budget.id.uuidString.lowercased())])
    }
}
