import Catalog
import ChatModel
import Foundation

/// Budget-based model switching (PRD phase 3, issue 23): when a `downgrade` budget refuses a call,
/// the agent's chain is walked for the models that fit what the budget has left. The chain's
/// candidates already meet the agent's requirements (resolved by `ModelChain`: known, enabled,
/// credentials, context window); of those, the ones whose maximum cost fits, cheapest first.
enum BudgetDowngrade {
    static func candidates(
        _ chain: [ChainCandidate], request: ChatRequest, requestBytes: Int, configuration: ModelConfiguration,
        fitting remaining: Decimal, excluding refused: ChainCandidate
    ) -> [ChainCandidate] {
        func maxCost(_ candidate: ChainCandidate) -> Decimal? {
            let effective = ModelChain.effectiveRequest(request, configuration: configuration, model: candidate.model)
            return BudgetEstimate.make(request: effective, requestBytes: requestBytes, model: candidate.model)?.maxCost
        }
        // Cheaper than the refused model: a downgrade never moves to a dearer one.
        let ceiling = maxCost(refused)
        var priced: [(candidate: ChainCandidate, cost: Decimal)] = []
        for candidate in chain where candidate.model.modelID != refused.model.modelID || candidate.provider.name != refused.provider.name {
            guard let cost = maxCost(candidate), cost <= remaining, ceiling.map({ cost < $0 }) ?? true else { continue }
            priced.append((candidate, cost))
        }
        // Stable: equal costs keep the chain's order.
        return priced.enumerated().sorted { ($0.element.cost, $0.offset) < ($1.element.cost, $1.offset) }.map(\.element.candidate)
    }
}
