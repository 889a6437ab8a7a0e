package store

// WarehouseSQLForPlan is the warehouse comparison's statement, for its plan.
const WarehouseSQLForPlan = warehouseSQL
