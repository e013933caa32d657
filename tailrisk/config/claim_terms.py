"""What each metric name of a ``[claim]`` means, in one sentence: the methods page of an
experiment's report reads it (``tailrisk.report.claim``), and a test checks that every name of
the vocabulary in :mod:`tailrisk.config.claim` has one.
"""

from __future__ import annotations

from .claim import split_payoff_name

__all__ = ["GROUP_TERMS", "TERMS", "WORLD_TERMS", "describe"]

#: payoff statistics: the sample is one group's total payoff per path (USD)
_STATS = {
    "tail_index": "Hill estimate of the tail index of the gains, k = ceil(sqrt(n)) upper "
                  "order statistics (higher = thinner tail)",
    "tail_index_loss": "Hill estimate of the tail index of the losses (higher = thinner tail)",
    "kurtosis": "excess kurtosis of the payoff (0 for a Gaussian)",
    "es99": "expected shortfall of the gains at 99 %: the mean of the best 1 % of payoffs",
    "es99_loss": "expected shortfall of the losses at 99 %: the mean of the worst 1 %",
    "mean": "mean payoff",
    "sd": "standard deviation of the payoff",
    "q99": "99 % quantile of the payoff",
}
#: the two worlds of a payoff statistic
WORLD_TERMS = {"damped": "what the venue paid (after ADL and haircuts)",
               "undamped": "what was owed had the venue always paid in full"}
#: the groups a payoff or haircut metric takes in brackets
GROUP_TERMS = {
    "sides": "the long side's and the short side's total payoffs per path, pooled",
    "long": "the long side's total payoff per path",
    "short": "the short side's total payoff per path",
    "cohort": "one cohort of accounts (by leverage or ADL rank), named after 'cohort:'",
    "probe": "one probe (a tiny position added to the population), named after 'probe:'",
}
TERMS = {
    # venue metrics: per path, then a probability or mean over the paths
    "p_insolvent": "share of paths on which the venue ends insolvent (losses past its capital)",
    "p_adl": "share of paths with at least one ADL event",
    "p_fund_exhausted": "share of paths on which the insurance fund reaches its floor",
    "p_winner_touched": "share of paths on which ADL closes or cuts at least one winner",
    "p_recourse_default": "share of paths on which a recourse account defaults on its losses",
    "mean_net_insolvent_debt": "mean over paths of the debt left unpaid once fund, ADL and "
                               "capital are spent (USD)",
    "q99_net_insolvent_debt": "99 % quantile over paths of the net insolvent debt (USD)",
    "mean_capital_injected": "mean capital the venue pays in per path (USD)",
    "mean_liquidated_notional": "mean notional liquidated per path (USD)",
    "mean_adl_notional": "mean notional closed by ADL per path (USD)",
    "mean_adl_count": "mean number of account closes by ADL per path",
    "mean_fund_final": "mean insurance fund at the horizon (USD)",
    "mean_fund_min": "mean of each path's smallest insurance fund (USD)",
    "mean_shortfall": "mean deficit left by liquidations beyond what the fund paid (USD)",
    "mean_gini_haircut": "mean over paths of the Gini coefficient of the winners' haircuts",
    "mean_max_haircut_pct": "mean over paths of the largest haircut, in % of what that winner "
                            "was owed",
    "mean_haircut": "mean over paths of the group's owed minus paid payoff (USD)",
    "q99_haircut": "99 % quantile over paths of the group's owed minus paid payoff (USD)",
    "damping_ratio": "mean paid over mean owed, on the paths where the group is owed a gain",
    "p_haircut": "share of paths on which the group is paid less than it is owed",
    # price metrics
    "price_tail_index": "Hill tail index of |log(S_T / S_0)|, the size of the price move",
    "price_kurtosis": "excess kurtosis of the terminal log return log(S_T / S_0)",
    "price_sd": "standard deviation of the terminal log return (log units)",
    # options on damped assets
    "adl_price": "the probe's entitled forward minus its damped forward, discounted, per unit "
                 "(USD): what a winner gives up to ADL",
    "adl_rate": "adl_price over the probe's entry price and the maturity (per year)",
    "forward_damped": "mean of the probe's damped asset A(T) = E + s x damped payoff per unit",
    "forward_entitled": "mean of the probe's entitled asset U(T), as if always paid in full",
    "forward_undamped": "mean of the price S(T)",
    "option_damped": "price of the out-of-the-money option on A(T) at the strike m x S0 (a put "
                     "below the forward, a call above)",
    "option_undamped": "the same option on the price S(T)",
    "iv_damped": "Black implied volatility of option_damped (annualised)",
    "iv_undamped": "Black implied volatility of option_undamped (annualised)",
    # networks
    "p_fail_1plus": "share of paths on which at least one venue fails (past its capital)",
    "p_fail_2plus": "share of paths on which at least two venues fail",
    "mean_failed_venues": "mean number of failed venues per path",
    "mean_systemic_loss": "mean per path of haircuts, capital injected, unpaid debt and firms' "
                          "losses over every venue (USD)",
    "q99_systemic_loss": "99 % quantile over paths of the systemic loss (USD)",
    # the replay
    "path0_liquidated_notional": "notional the model liquidates on the recorded path (USD)",
    "path0_adl_notional": "notional the model closes by ADL on the recorded path (USD)",
    "path0_adl_count": "account closes by ADL in the model on the recorded path",
    "path0_first_adl_delay_s": "the model's first ADL minus the recorded first liquidation (s)",
    "path0_cascade_to_adl_s": "from the model's own first liquidation to its first ADL (s)",
    "recorded_liquidated_notional": "BTC liquidations recorded on Hyperliquid that day (USD)",
    "recorded_adl_notional": "BTC notional recorded closed by ADL on Hyperliquid (USD)",
    "recorded_adl_count": "BTC ADL events recorded on Hyperliquid",
    "recorded_first_adl_delay_s": "recorded first liquidation to first ADL (61.7 s)",
}


def describe(name: str) -> str:
    """One sentence on a metric name of the vocabulary; '' for an unknown name."""
    if name in TERMS:
        return TERMS[name]
    split = split_payoff_name(name)
    if split is None:
        return ""
    stat, world = split
    return f"{_STATS[stat]}, of {WORLD_TERMS[world]}"
