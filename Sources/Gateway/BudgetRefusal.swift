import Foundation

/// A budget refused to reserve a call (`budget_open_calls`, migration 0033): nothing was written
/// and the call is not sent. What the job becomes follows the budget's `on_exhausted`.
struct BudgetRefusal: Sendable, Equatable {
    enum Reason: String, Sendable {
        /// The call's maximum cost does not fit in what is left.
        case exhausted
        /// It fits what is spent but not what calls in flight have reserved: they may leave room
        /// when they settle, so the call waits rather than fail.
        case busy
        /// A `downgrade` budget passed its threshold: a cheaper model of the chain should answer.
        case threshold
        /// A budget applies but the model's price or the call's output bound is unknown.
        case priceUnknown = "price_unknown"
    }

    enum Behaviour: String, Sendable {
        case fail, `defer`, downgrade
    }

    var budgetID: UUID
    var reason: Reason
    var onExhausted: Behaviour
    /// The least any of the call's budgets has left (USD, ≥ 0): what a downgrade must fit in.
    var remaining: Decimal
    /// When the refusing budget's period ends (nil for a lifetime budget).
    var periodEnd: Date?

    /// A busy budget: the first wait before reserving again, and how long a runner waits in all
    /// before the job goes back to the queue (without spending an attempt).
    static let busyWaitStart: Duration = .milliseconds(20)
    static let busyWaitLimit: Duration = .seconds(10)

    /// The job's error code.
    var errorCode: String { reason == .priceUnknown ? "price_unknown" : "budget_exceeded" }

    var message: String {
        switch reason {
        case .priceUnknown:
            return "budget \(budgetID.uuidString.lowercased()) applies, but the model's price or the call's output bound is unknown, so its cost cannot be reserved"
        case .busy:
            return "budget \(budgetID.uuidString.lowercased()) is fully reserved by calls in flight; the job waits for them to settle"
        case .exhausted, .threshold:
            return "budget \(budgetID.uuidString.lowercased()) is exhausted for this period: \(remaining) USD left, less than this call's maximum cost"
        }
    }
}
