/* The same statement as the Swift benchmark, straight through libpq: prepared once, then
   PQexecPrepared with one text parameter, the value read back as text. Prints CPU µs/query. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

static double cpu_seconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: pq_baseline CONNINFO COUNT\n"); return 2; }
    int count = atoi(argv[2]);
    PGconn *conn = PQconnectdb(argv[1]);
    if (PQstatus(conn) != CONNECTION_OK) { fprintf(stderr, "%s", PQerrorMessage(conn)); return 1; }
    Oid types[1] = {20};
    PGresult *prepared = PQprepare(conn, "q", "SELECT $1::int8 + 1 AS n", 1, types);
    if (PQresultStatus(prepared) != PGRES_COMMAND_OK) { fprintf(stderr, "%s", PQerrorMessage(conn)); return 1; }
    PQclear(prepared);
    long total = 0;
    char value[32];
    for (int warm = 0; warm < 2; warm++) {
        double start = cpu_seconds();
        for (int i = 0; i < count; i++) {
            snprintf(value, sizeof value, "%d", i);
            const char *values[1] = {value};
            PGresult *result = PQexecPrepared(conn, "q", 1, values, NULL, NULL, 0);
            if (PQresultStatus(result) != PGRES_TUPLES_OK) { fprintf(stderr, "%s", PQerrorMessage(conn)); return 1; }
            total += atol(PQgetvalue(result, 0, 0));
            PQclear(result);
        }
        double elapsed = cpu_seconds() - start;
        if (warm == 1) printf("%.2f\n", elapsed * 1e6 / count);
    }
    PQfinish(conn);
    return total == 0;
}
