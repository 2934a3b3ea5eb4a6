"""The heaviest queries the front ends send, one per screen. The query limits' defaults are
set from these (README, "Query limits"), and tests/test_limits.py runs each one under them."""

from __future__ import annotations

DEAL_FIELDS = """
fragment DealSummary on Deal {
  id dealNumber status createdAt updatedAt isEditable
  customer { id fullName email phone }
  vehicle { id title vin stockNumber listPrice daysInStock }
  salesperson { id fullName }
  activeScenario { id type monthlyPayment termMonths apr }
}
"""

# The desking board: a page of deals with who, what and the chosen payment.
DEAL_BOARD = (
    """
query DealBoard($first: Int = 100, $after: String, $filter: DealFilter, $order: DealOrder) {
  deals(first: $first, after: $after, filter: $filter, orderBy: $order) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { ...DealSummary scenarios { id name type monthlyPayment } } }
  }
  open: deals(first: 1, filter: {status: [OPEN]}) { totalCount }
  pending: deals(first: 1, filter: {status: [PENDING_APPROVAL]}) { totalCount }
  approved: deals(first: 1, filter: {status: [APPROVED]}) { totalCount }
}
"""
    + DEAL_FIELDS
)

SCENARIO_FIELDS = """
fragment ScenarioFields on DealScenario {
  id name type version vehiclePrice downPayment rebates tradeAllowance tradePayoff
  apr moneyFactor termMonths residualPercent residualValue taxRate taxAmount feesTotal
  amountFinanced monthlyPayment totalOfPayments updatedAt
  fees { name kind amount taxable }
}
"""

DECISION_FIELDS = """
fragment DecisionFields on LenderDecision {
  id decision approvedAmount apr buyRate dealerReserve termMonths monthlyPayment
  ltvPercent dtiPercent stipulations moneyFactor decidedAt
  lender { id name code }
}
"""

# The desking screen: one deal with everything that goes into structuring it.
DESKING = (
    """
query Desking($id: ID!) {
  deal(id: $id) {
    ...DealSummary
    version notes lostReason contractedAt deliveredAt closedAt
    customer { id firstName lastName email phone addressLine1 city state postalCode
      tradeVehicles { id year make model allowance payoffAmount } }
    vehicle { id vin stockNumber year make model trim mileage listPrice msrp cost status }
    salesManager { id fullName }
    financeManager { id fullName }
    activeScenario { ...ScenarioFields }
    scenarios { ...ScenarioFields }
    tradeVehicles { id vin year make model trim mileage allowance actualCashValue payoffAmount
      payoffLender }
    rateRequests {
      id status creditScore amountRequested downPayment termMonths submittedAt
      requestedBy { id fullName }
      scenario { id name }
      decisions { ...DecisionFields }
    }
    selectedDecision { ...DecisionFields }
    appointments { id type status startsAt endsAt user { id fullName } }
  }
  dealershipSettings { defaultDealType defaultTermMonths defaultApr }
  feeTemplates { id name kind amount taxable }
}
"""
    + DEAL_FIELDS
    + SCENARIO_FIELDS
    + DECISION_FIELDS
)

# The CRM customer screen: the person, their timeline, deals and appointments.
CUSTOMER = """
query CustomerScreen($id: ID!) {
  customer(id: $id) {
    id firstName lastName fullName email phone alternatePhone addressLine1 addressLine2
    city state postalCode source archivedAt isArchived version createdAt updatedAt
    notes { id body createdAt author { id fullName } }
    history { kind occurredAt summary subjectId }
    appointments { id type status startsAt endsAt location user { id fullName }
      vehicle { id title } }
    possibleDuplicates { id fullName email phone }
    deals { id dealNumber status createdAt vehicle { id title }
      activeScenario { id type monthlyPayment }
      scenarios { id name type monthlyPayment } }
    tradeVehicles { id year make model allowance }
  }
}
"""

# The inventory list: a page of vehicles with the deals on each.
INVENTORY = """
query Inventory($first: Int = 100, $after: String, $filter: VehicleFilter) {
  vehicles(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id vin stockNumber condition year make model trim bodyStyle exteriorColor mileage
      cost listPrice msrp status receivedOn daysInStock title
      deals { id dealNumber status salesperson { id fullName } customer { id fullName } }
    }
  }
  inventorySummary { totalCount }
  inventoryCounts { status count }
}
"""

SCREENS = {
    "deal board": DEAL_BOARD,
    "desking": DESKING,
    "customer": CUSTOMER,
    "inventory": INVENTORY,
}
