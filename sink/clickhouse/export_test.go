package clickhouse

// MigrationCount is how many migrations this binary has (versions may have
// gaps while features land on separate branches).
func MigrationCount() int { return len(migrations) }
