package pmassist

// Tier is a subscription level.
type Tier string

// Tiers, in ascending order.
const (
	TierFree       Tier = "free"
	TierPro        Tier = "pro"
	TierEnterprise Tier = "enterprise"
)

// Valid reports whether t is a known tier.
func (t Tier) Valid() bool {
	_, ok := planIndex[t]
	return ok
}

// Unlimited marks a limit that does not apply.
const Unlimited = -1

// Feature is something a tier may or may not include.
type Feature string

// Features gated by tier.
const (
	FeatureScheduledWorkflows Feature = "scheduled_workflows"
	FeatureDelivery           Feature = "delivery"
	FeatureOwnOAuthApps       Feature = "own_oauth_apps"
	FeatureCustomRules        Feature = "custom_detection_rules"
	FeatureAuditExport        Feature = "audit_export"
)

// Plan is what a tier costs and allows. Every limit check in the application
// reads this one table.
type Plan struct {
	Tier               Tier
	PriceUSD           int
	Integrations       int // Unlimited or a count
	ItemsPerMonth      int // Unlimited or a count
	RateLimitPerMinute int
	Features           []Feature
}

// Plans is the price list of product.md §7.
var Plans = []Plan{
	{Tier: TierFree, PriceUSD: 0, Integrations: 1, ItemsPerMonth: 100, RateLimitPerMinute: 60},
	{Tier: TierPro, PriceUSD: 29, Integrations: Unlimited, ItemsPerMonth: Unlimited, RateLimitPerMinute: 600,
		Features: []Feature{FeatureScheduledWorkflows, FeatureDelivery}},
	{Tier: TierEnterprise, PriceUSD: 99, Integrations: Unlimited, ItemsPerMonth: Unlimited, RateLimitPerMinute: 3000,
		Features: []Feature{FeatureScheduledWorkflows, FeatureDelivery, FeatureOwnOAuthApps, FeatureCustomRules, FeatureAuditExport}},
}

var planIndex = func() map[Tier]Plan {
	m := make(map[Tier]Plan, len(Plans))
	for _, p := range Plans {
		m[p.Tier] = p
	}
	return m
}()

// PlanFor returns the plan of a tier; an unknown tier gets the free plan.
func PlanFor(t Tier) Plan {
	if p, ok := planIndex[t]; ok {
		return p
	}
	return planIndex[TierFree]
}

// Has reports whether the plan includes f.
func (p Plan) Has(f Feature) bool {
	for _, x := range p.Features {
		if x == f {
			return true
		}
	}
	return false
}
