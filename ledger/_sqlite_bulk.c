/* ledger._sqlite_bulk: one prepared INSERT run over many rows on a Python sqlite3 connection,
 * with the GIL released for the whole run.
 *
 *   insert_many(connection, sql, rows) -> bool
 *   commit_steps(connection, [(sql, rows) | (sql, rows, changes), ...]) -> bool
 *   filename(connection) -> str | None
 *
 * sqlite3.Connection.executemany releases and takes back the GIL around every row's step, and
 * converts each row's values on the way; a backfill stores ~2 rows per ledger entry, so that
 * hand-over is paid hundreds of thousands of times while the fetch and decode threads want the
 * GIL too. insert_many converts every value first (GIL held), then binds and steps all the rows
 * with the GIL released.
 *
 * It calls the very SQLite library the sqlite3 module uses (found with dlopen(RTLD_NOLOAD), never
 * loaded a second time), on the connection's own handle: the first field of CPython's
 * pysqlite_Connection (3.8 onwards). ledger/db/bulk.py checks that handle once per connection
 * (filename() must name the database file the connection reports) before trusting it.
 *
 * insert_many takes one statement and lists of tuples of None, int (64-bit), float and str, and
 * returns False for anything else. It runs inside a savepoint (opening the transaction first when none is open,
 * as the sqlite3 module would for an INSERT): if any row fails it rolls back to the savepoint and
 * returns False, having changed nothing, so the caller runs the same rows through executemany and
 * gets the driver's own error. True means every row was stored.
 *
 * commit_steps is a whole write transaction in one call (the indexer's batch: its rows, block
 * hashes and checkpoint), so the GIL is given up and taken back once per batch, not once per
 * statement. It needs a connection with no transaction open, opens one (BEGIN IMMEDIATE), runs
 * each step's statement over its rows, checks the steps that say how many rows they must change
 * (a checkpoint update guarded by the checkpoint it expects) and commits. On anything else it rolls
 * back and returns False, having changed nothing, and the caller writes the batch the ordinary way.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <dlfcn.h>
#include <stdint.h>

typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;

#define SQLITE_OK 0
#define SQLITE_DONE 101
#define SQLITE_STATIC ((void (*)(void *))0)

static struct {
    int (*prepare_v2)(sqlite3 *, const char *, int, sqlite3_stmt **, const char **);
    int (*bind_null)(sqlite3_stmt *, int);
    int (*bind_int64)(sqlite3_stmt *, int, int64_t);
    int (*bind_double)(sqlite3_stmt *, int, double);
    int (*bind_text)(sqlite3_stmt *, int, const char *, int, void (*)(void *));
    int (*step)(sqlite3_stmt *);
    int (*reset)(sqlite3_stmt *);
    int (*finalize)(sqlite3_stmt *);
    int (*exec)(sqlite3 *, const char *, void *, void *, char **);
    int (*get_autocommit)(sqlite3 *);
    int (*bind_parameter_count)(sqlite3_stmt *);
    const char *(*db_filename)(sqlite3 *, const char *);
    int (*changes)(sqlite3 *);
} api;

static int api_ready = 0; /* 1: every function found; -1: not available */

static int
load_api(void)
{
    void *lib;
    if (api_ready)
        return api_ready;
    api_ready = -1;
    lib = dlopen("libsqlite3.so.0", RTLD_LAZY | RTLD_NOLOAD); /* the one _sqlite3 already loaded */
    if (lib == NULL)
        return api_ready;
#define FIND(field, name)                                   \
    if ((*(void **)&api.field = dlsym(lib, name)) == NULL) \
        return api_ready;
    FIND(prepare_v2, "sqlite3_prepare_v2")
    FIND(bind_null, "sqlite3_bind_null")
    FIND(bind_int64, "sqlite3_bind_int64")
    FIND(bind_double, "sqlite3_bind_double")
    FIND(bind_text, "sqlite3_bind_text")
    FIND(step, "sqlite3_step")
    FIND(reset, "sqlite3_reset")
    FIND(finalize, "sqlite3_finalize")
    FIND(exec, "sqlite3_exec")
    FIND(get_autocommit, "sqlite3_get_autocommit")
    FIND(bind_parameter_count, "sqlite3_bind_parameter_count")
    FIND(db_filename, "sqlite3_db_filename")
    FIND(changes, "sqlite3_changes")
#undef FIND
    api_ready = 1;
    return api_ready;
}

typedef struct {
    PyObject_HEAD sqlite3 *db;
} Connection; /* the head of CPython's pysqlite_Connection */

static sqlite3 *
handle_of(PyObject *connection)
{
    const char *type = Py_TYPE(connection)->tp_name;
    if (load_api() < 0 || strcmp(type, "sqlite3.Connection") != 0)
        return NULL;
    return ((Connection *)connection)->db; /* NULL once closed */
}

enum { V_NULL, V_INT, V_REAL, V_TEXT };

typedef struct {
    int type;
    int len;
    union {
        int64_t i;
        double d;
        const char *s;
    } u;
} Value;

/* The rows' values as C values (borrowing the str objects' UTF-8, which `rows` keeps alive);
 * 0 when every value is of a plain type, -1 with a Python error, 1 to decline. */
static int
convert(PyObject *rows, Py_ssize_t count, Py_ssize_t width, Value *values)
{
    Py_ssize_t r, c, len;
    for (r = 0; r < count; r++) {
        PyObject *row = PyList_GET_ITEM(rows, r);
        if (!PyTuple_CheckExact(row) || PyTuple_GET_SIZE(row) != width)
            return 1;
        for (c = 0; c < width; c++) {
            PyObject *o = PyTuple_GET_ITEM(row, c);
            Value *v = &values[r * width + c];
            if (o == Py_None)
                v->type = V_NULL;
            else if (PyLong_Check(o)) {
                int overflow;
                v->type = V_INT;
                v->u.i = PyLong_AsLongLongAndOverflow(o, &overflow);
                if (overflow)
                    return 1;
                if (v->u.i == -1 && PyErr_Occurred())
                    return -1;
            }
            else if (PyFloat_CheckExact(o)) {
                v->type = V_REAL;
                v->u.d = PyFloat_AS_DOUBLE(o);
            }
            else if (PyUnicode_CheckExact(o)) {
                v->type = V_TEXT;
                v->u.s = PyUnicode_AsUTF8AndSize(o, &len);
                if (v->u.s == NULL)
                    return -1;
                if (len > INT32_MAX)
                    return 1;
                v->len = (int)len;
            }
            else
                return 1;
        }
    }
    return 0;
}

/* Prepare, bind and step every row, adding the rows each step changed to `*changed` (when not
 * NULL); runs without the GIL. SQLITE_OK when all were stored. */
static int
run(sqlite3 *db, const char *sql, Py_ssize_t count, Py_ssize_t width, const Value *values, int64_t *changed)
{
    sqlite3_stmt *stmt = NULL;
    const char *tail = NULL;
    Py_ssize_t r;
    int c, rc = api.prepare_v2(db, sql, -1, &stmt, &tail);
    if (rc != SQLITE_OK || stmt == NULL)
        return rc == SQLITE_OK ? -1 : rc;
    while (tail != NULL && (*tail == ' ' || *tail == '\t' || *tail == '\n' || *tail == '\r' || *tail == ';'))
        tail++;
    if (api.bind_parameter_count(stmt) != width || (tail != NULL && *tail != '\0'))
        rc = -1; /* a second statement (executemany refuses it) or a parameter count that does not fit */
    for (r = 0; r < count && rc == SQLITE_OK; r++) {
        for (c = 0; c < width; c++) {
            const Value *v = &values[r * width + c];
            switch (v->type) {
            case V_NULL: api.bind_null(stmt, c + 1); break;
            case V_INT: api.bind_int64(stmt, c + 1, v->u.i); break;
            case V_REAL: api.bind_double(stmt, c + 1, v->u.d); break;
            default: api.bind_text(stmt, c + 1, v->u.s, v->len, SQLITE_STATIC);
            }
        }
        rc = api.step(stmt);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
        if (changed != NULL && rc == SQLITE_OK)
            *changed += api.changes(db);
        api.reset(stmt);
    }
    api.finalize(stmt);
    return rc;
}

typedef struct {
    const char *sql;
    Py_ssize_t count, width;
    Value *values;
    long long changes; /* the rows the step must change, or -1 */
} Step;

/* `rows` (a list of tuples, the width of the first) as C values in `out`: 0, 1 to decline, -1
 * with a Python error. */
static int
convert_rows(PyObject *rows, Step *out)
{
    PyObject *first;
    if ((out->count = PyList_GET_SIZE(rows)) == 0)
        return 0;
    first = PyList_GET_ITEM(rows, 0);
    if (!PyTuple_CheckExact(first))
        return 1;
    out->width = PyTuple_GET_SIZE(first);
    if (out->width > 0 && (size_t)out->count > PY_SSIZE_T_MAX / sizeof(Value) / (size_t)out->width)
        return 1;
    if ((out->values = PyMem_Malloc(sizeof(Value) * (size_t)(out->count * out->width) + 1)) == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    return convert(rows, out->count, out->width, out->values);
}

static PyObject *
insert_many(PyObject *self, PyObject *args)
{
    PyObject *connection, *rows;
    sqlite3 *db;
    Step plan = {NULL, 0, 0, NULL, -1};
    int rc = SQLITE_OK, declined;
    (void)self;
    if (!PyArg_ParseTuple(args, "OsO!", &connection, &plan.sql, &PyList_Type, &rows))
        return NULL;
    if ((db = handle_of(connection)) == NULL)
        Py_RETURN_FALSE;
    if (PyList_GET_SIZE(rows) == 0)
        Py_RETURN_TRUE;
    declined = convert_rows(rows, &plan);
    if (declined == 0 && plan.width == 0)
        declined = 1; /* rows of no values: left to executemany */
    if (declined == 0) {
        Py_INCREF(rows); /* its strings' UTF-8 is bound as is */
        Py_BEGIN_ALLOW_THREADS
        rc = api.get_autocommit(db) ? api.exec(db, "BEGIN", NULL, NULL, NULL) : SQLITE_OK;
        if (rc == SQLITE_OK)
            rc = api.exec(db, "SAVEPOINT crowdledger_bulk", NULL, NULL, NULL);
        if (rc == SQLITE_OK) {
            rc = run(db, plan.sql, plan.count, plan.width, plan.values, NULL);
            if (rc != SQLITE_OK)
                api.exec(db, "ROLLBACK TO crowdledger_bulk", NULL, NULL, NULL);
            api.exec(db, "RELEASE crowdledger_bulk", NULL, NULL, NULL);
        }
        Py_END_ALLOW_THREADS
        Py_DECREF(rows);
    }
    PyMem_Free(plan.values);
    if (declined < 0)
        return NULL;
    return PyBool_FromLong(declined == 0 && rc == SQLITE_OK);
}

/* One step of commit_steps as C values: 0, 1 to decline, -1 with a Python error. */
static int
convert_step(PyObject *step, Step *out)
{
    PyObject *rows;
    Py_ssize_t size;
    out->changes = -1;
    if (!PyTuple_CheckExact(step) || (size = PyTuple_GET_SIZE(step)) < 2 || size > 3
        || !PyUnicode_CheckExact(PyTuple_GET_ITEM(step, 0)) || !PyList_CheckExact(PyTuple_GET_ITEM(step, 1)))
        return 1;
    if ((out->sql = PyUnicode_AsUTF8(PyTuple_GET_ITEM(step, 0))) == NULL)
        return -1;
    if (size == 3) {
        if (!PyLong_CheckExact(PyTuple_GET_ITEM(step, 2)))
            return 1;
        out->changes = PyLong_AsLongLong(PyTuple_GET_ITEM(step, 2));
        if (out->changes == -1 && PyErr_Occurred())
            return -1;
    }
    rows = PyTuple_GET_ITEM(step, 1);
    if (PyList_GET_SIZE(rows) == 0 && out->changes > 0)
        return 1; /* no row changes nothing */
    return convert_rows(rows, out);
}

static PyObject *
commit_steps(PyObject *self, PyObject *args)
{
    PyObject *connection, *steps;
    sqlite3 *db;
    Step *plan;
    Py_ssize_t n, i;
    int rc = SQLITE_OK, declined = 0;
    (void)self;
    if (!PyArg_ParseTuple(args, "OO!", &connection, &PyList_Type, &steps))
        return NULL;
    if ((db = handle_of(connection)) == NULL || !api.get_autocommit(db))
        Py_RETURN_FALSE; /* not ours to use, or a transaction is already open */
    n = PyList_GET_SIZE(steps);
    if ((plan = PyMem_Calloc((size_t)n + 1, sizeof(Step))) == NULL)
        return PyErr_NoMemory();
    for (i = 0; i < n && declined == 0; i++)
        declined = convert_step(PyList_GET_ITEM(steps, i), &plan[i]);
    if (declined == 0) {
        Py_INCREF(steps); /* its strings' UTF-8 is bound as is */
        Py_BEGIN_ALLOW_THREADS
        rc = api.exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        for (i = 0; i < n && rc == SQLITE_OK; i++) {
            int64_t changed = 0;
            if (plan[i].count > 0)
                rc = run(db, plan[i].sql, plan[i].count, plan[i].width, plan[i].values, &changed);
            if (rc == SQLITE_OK && plan[i].changes >= 0 && changed != plan[i].changes)
                rc = -1;
        }
        if (rc == SQLITE_OK)
            rc = api.exec(db, "COMMIT", NULL, NULL, NULL);
        if (rc != SQLITE_OK && !api.get_autocommit(db))
            api.exec(db, "ROLLBACK", NULL, NULL, NULL);
        Py_END_ALLOW_THREADS
        Py_DECREF(steps);
    }
    for (i = 0; i < n; i++)
        PyMem_Free(plan[i].values);
    PyMem_Free(plan);
    if (declined < 0)
        return NULL;
    return PyBool_FromLong(declined == 0 && rc == SQLITE_OK);
}

static PyObject *
filename(PyObject *self, PyObject *connection)
{
    sqlite3 *db = handle_of(connection);
    const char *name;
    (void)self;
    if (db == NULL || (name = api.db_filename(db, "main")) == NULL)
        Py_RETURN_NONE;
    return PyUnicode_DecodeFSDefault(name);
}

static PyMethodDef methods[] = {
    {"insert_many", insert_many, METH_VARARGS,
     PyDoc_STR("insert_many(connection, sql, rows) -> bool: run one INSERT over every row with the GIL released "
               "(False, nothing changed: use executemany)")},
    {"commit_steps", commit_steps, METH_VARARGS,
     PyDoc_STR("commit_steps(connection, steps) -> bool: run each (sql, rows[, changes]) step over its rows in one "
               "transaction of its own, with the GIL released, and commit (False, nothing changed: a transaction was "
               "open, a value it does not take, an SQLite error, or a step that changed other than `changes` rows)")},
    {"filename", filename, METH_O,
     PyDoc_STR("filename(connection) -> str | None: the main database file of the connection's SQLite handle")},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "ledger._sqlite_bulk", "Bulk INSERTs on a sqlite3 connection (see ledger/db/bulk.py).",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__sqlite_bulk(void)
{
    return PyModule_Create(&module_def);
}
