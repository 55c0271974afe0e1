//! Dashboard metrics, computed by PostgreSQL (being written).
