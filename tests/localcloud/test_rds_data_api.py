"""The RDS Data API on the local cloud runs SQL on the cluster's real PostgreSQL database."""

from __future__ import annotations

import contextlib
import json
import sys
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from stack_testing import wait_for

sys.path.insert(0, str(Path(__file__).parent))
from _cfn_helpers import delete
from _rds_helpers import Aurora, deploy_aurora, rows

from localcloud.rds import get_data_api


@pytest.fixture(scope="module")
def aurora(aws):
    """One Aurora PostgreSQL stack for the module (tests use their own tables)."""
    cluster = deploy_aurora(aws, prefix="data-api")
    yield cluster
    with contextlib.suppress(ClientError, TimeoutError):
        delete(aws("cloudformation"), cluster.stack_name)


@pytest.fixture
def data(aws):
    return aws("rds-data")


@pytest.fixture
def table(data, aurora):
    """A fresh table name (the table itself is created by the test)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    with contextlib.suppress(ClientError):
        data.execute_statement(sql=f"DROP TABLE IF EXISTS {name}", **aurora.args())


def _error(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = raised.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


def _count(data, aurora: Aurora, table: str) -> int:
    return int(
        rows(data.execute_statement(sql=f"SELECT count(*) FROM {table}", **aurora.args()))[0][0]
    )


def test_create_insert_with_typed_parameters_and_select_with_metadata(data, aurora, table):
    """ExecuteStatement runs DDL and DML; named parameters carry typed values (stringValue,
    longValue, doubleValue, booleanValue, isNull, blobValue) and typeHints (DECIMAL,
    TIMESTAMP, DATE, TIME, UUID, JSON); a SELECT returns each column as the Field of its type
    (numeric, dates and times, uuid and json as strings), and includeResultMetadata adds the
    JDBC-style columnMetadata (name, label, typeName, type, tableName, nullable, precision...)."""
    created = data.execute_statement(
        sql=f"""CREATE TABLE {table} (
            id bigserial PRIMARY KEY, name varchar(40) NOT NULL, qty integer, ratio float8,
            active boolean, price numeric(10, 2), at timestamp, day date, tm time,
            ref uuid, doc jsonb, note text, raw bytea)""",
        **aurora.args(),
    )
    assert created["numberOfRecordsUpdated"] == 0
    ref = str(uuid.uuid4())
    inserted = data.execute_statement(
        sql=f"""INSERT INTO {table} (name, qty, ratio, active, price, at, day, tm, ref, doc,
                note, raw)
                VALUES (:name, :qty, :ratio, :active, :price, :at, :day, :tm, :ref, :doc,
                :note, :raw)""",
        parameters=[
            {"name": "name", "value": {"stringValue": "widget"}},
            {"name": "qty", "value": {"longValue": 3}},
            {"name": "ratio", "value": {"doubleValue": 0.25}},
            {"name": "active", "value": {"booleanValue": True}},
            {"name": "price", "value": {"stringValue": "12.50"}, "typeHint": "DECIMAL"},
            {
                "name": "at",
                "value": {"stringValue": "2026-01-02 03:04:05"},
                "typeHint": "TIMESTAMP",
            },
            {"name": "day", "value": {"stringValue": "2026-01-02"}, "typeHint": "DATE"},
            {"name": "tm", "value": {"stringValue": "03:04:05"}, "typeHint": "TIME"},
            {"name": "ref", "value": {"stringValue": ref}, "typeHint": "UUID"},
            {"name": "doc", "value": {"stringValue": '{"size": "L"}'}, "typeHint": "JSON"},
            {"name": "note", "value": {"isNull": True}},
            {"name": "raw", "value": {"blobValue": b"\x00\xffbytes"}},
        ],
        **aurora.args(),
    )
    assert inserted["numberOfRecordsUpdated"] == 1
    assert "records" not in inserted

    selected = data.execute_statement(
        sql=f"SELECT id, name, qty, ratio, active, price, at, day, tm, ref, doc, note, raw, "
        f"qty * 2 AS doubled FROM {table}",
        includeResultMetadata=True,
        **aurora.args(),
    )

    assert selected["numberOfRecordsUpdated"] == 0
    [record] = selected["records"]
    assert record == [
        {"longValue": 1},
        {"stringValue": "widget"},
        {"longValue": 3},
        {"doubleValue": 0.25},
        {"booleanValue": True},
        {"stringValue": "12.50"},
        {"stringValue": "2026-01-02 03:04:05"},
        {"stringValue": "2026-01-02"},
        {"stringValue": "03:04:05"},
        {"stringValue": ref},
        {"stringValue": '{"size": "L"}'},
        {"isNull": True},
        {"blobValue": b"\x00\xffbytes"},
        {"longValue": 6},
    ]
    metadata = {column["label"]: column for column in selected["columnMetadata"]}
    assert metadata["id"]["typeName"] == "bigserial"
    assert metadata["id"]["isAutoIncrement"] is True
    assert metadata["id"]["type"] == -5  # java.sql.Types.BIGINT
    assert metadata["name"]["typeName"] == "varchar"
    assert metadata["name"]["precision"] == 40
    assert metadata["name"]["nullable"] == 0
    assert metadata["name"]["tableName"] == table
    assert metadata["price"]["typeName"] == "numeric"
    assert (metadata["price"]["precision"], metadata["price"]["scale"]) == (10, 2)
    assert metadata["qty"]["nullable"] == 1
    assert metadata["ref"]["type"] == 1111  # java.sql.Types.OTHER
    assert metadata["doubled"]["tableName"] == ""
    assert set(metadata["name"]) == {
        "name", "type", "typeName", "label", "schemaName", "tableName", "isAutoIncrement",
        "isSigned", "isCurrency", "isCaseSensitive", "nullable", "precision", "scale",
        "arrayBaseColumnType",
    }  # fmt: skip


def test_string_parameters_are_varchar_unless_hinted(data, aurora, table):
    """A stringValue is sent as character varying: comparing it with a uuid column fails with
    PostgreSQL's "operator does not exist: uuid = character varying" (the service's well-known
    behaviour), and typeHint UUID makes the same query work."""
    data.execute_statement(sql=f"CREATE TABLE {table} (ref uuid)", **aurora.args())
    ref = str(uuid.uuid4())
    data.execute_statement(
        sql=f"INSERT INTO {table} VALUES (:ref)",
        parameters=[{"name": "ref", "value": {"stringValue": ref}, "typeHint": "UUID"}],
        **aurora.args(),
    )
    query = f"SELECT count(*) FROM {table} WHERE ref = :ref"

    with pytest.raises(ClientError) as raised:
        data.execute_statement(
            sql=query, parameters=[{"name": "ref", "value": {"stringValue": ref}}], **aurora.args()
        )
    code, message, _status = _error(raised)
    assert code == "DatabaseErrorException"
    assert "operator does not exist: uuid = character varying" in message
    assert message.endswith("; SQLState: 42883")

    hinted = data.execute_statement(
        sql=query,
        parameters=[{"name": "ref", "value": {"stringValue": ref}, "typeHint": "UUID"}],
        **aurora.args(),
    )
    assert rows(hinted) == [[1]]


def test_returning_rows_come_back_as_records(data, aurora, table):
    """On Aurora PostgreSQL generated values are read with RETURNING, whose rows come back
    as records, with numberOfRecordsUpdated counting the inserted rows."""
    data.execute_statement(
        sql=f"CREATE TABLE {table} (id serial PRIMARY KEY, name text)", **aurora.args()
    )
    result = data.execute_statement(
        sql=f"INSERT INTO {table} (name) VALUES ('a'), ('b') RETURNING id, name",
        **aurora.args(),
    )
    assert result["numberOfRecordsUpdated"] == 2
    assert rows(result) == [[1, "a"], [2, "b"]]


def test_format_records_as_json(data, aurora, table):
    """formatRecordsAs JSON returns the rows as one JSON string of objects keyed by column
    label (numbers as numbers, decimals as strings, NULL as null, arrays as arrays), with no
    records or columnMetadata."""
    data.execute_statement(
        sql=f"CREATE TABLE {table} (id int, price numeric(6,2), tags text[], gone text)",
        **aurora.args(),
    )
    data.execute_statement(
        sql=f"INSERT INTO {table} VALUES (7, 3.50, ARRAY['x','y'], NULL)", **aurora.args()
    )
    result = data.execute_statement(
        sql=f"SELECT id AS ident, price, tags, gone FROM {table}",
        formatRecordsAs="JSON",
        includeResultMetadata=True,
        **aurora.args(),
    )
    assert json.loads(result["formattedRecords"]) == [
        {"ident": 7, "price": "3.50", "tags": ["x", "y"], "gone": None}
    ]
    assert "records" not in result
    assert "columnMetadata" not in result


def test_result_set_options_and_array_results(data, aurora):
    """resultSetOptions: decimalReturnType DOUBLE_OR_LONG returns numerics as numbers and
    longReturnType STRING returns integers as strings; array columns come back as
    arrayValue of the element type."""
    sql = "SELECT 2.5::numeric, 4::numeric, 9::bigint, ARRAY[1,2]::int[], ARRAY[true,false]"
    plain = data.execute_statement(sql=sql, **aurora.args())["records"][0]
    assert plain == [
        {"stringValue": "2.5"},
        {"stringValue": "4"},
        {"longValue": 9},
        {"arrayValue": {"longValues": [1, 2]}},
        {"arrayValue": {"booleanValues": [True, False]}},
    ]
    tuned = data.execute_statement(
        sql=sql,
        resultSetOptions={"decimalReturnType": "DOUBLE_OR_LONG", "longReturnType": "STRING"},
        **aurora.args(),
    )["records"][0]
    assert tuned[:3] == [{"doubleValue": 2.5}, {"stringValue": "4"}, {"stringValue": "9"}]


def test_named_parameters_are_not_replaced_in_literals_or_casts(data, aurora):
    """Only :name placeholders in SQL code are parameters: text in string literals, quoted
    identifiers and comments stays as written, and PostgreSQL's :: casts keep working."""
    result = data.execute_statement(
        sql="SELECT ':x' AS literal, :x::int + 1 AS cast_sum, '100%' AS pct -- :x\n",
        parameters=[{"name": "x", "value": {"longValue": 41}}],
        **aurora.args(),
    )
    assert rows(result) == [[":x", 42, "100%"]]


def test_array_parameters_and_several_statements_are_refused(data, aurora):
    """The service refuses arrayValue parameters (BadRequestException) and runs one statement
    per call: a second statement in the same SQL is an error, not silently run."""
    with pytest.raises(ClientError) as raised:
        data.execute_statement(
            sql="SELECT :ids",
            parameters=[{"name": "ids", "value": {"arrayValue": {"longValues": [1, 2]}}}],
            **aurora.args(),
        )
    assert _error(raised)[:2] == ("BadRequestException", "Array parameters are not supported.")

    with pytest.raises(ClientError) as raised:
        data.execute_statement(sql="SELECT 1; SELECT 2", **aurora.args())
    code, message, _status = _error(raised)
    assert code == "DatabaseErrorException"
    assert "cannot insert multiple commands" in message


def test_sql_error_is_a_database_error_with_the_postgresql_message(data, aurora, table):
    """A failing statement answers HTTP 400 DatabaseErrorException whose message is
    PostgreSQL's error (severity, message, Detail line) followed by its SQLState."""
    data.execute_statement(sql=f"CREATE TABLE {table} (id int PRIMARY KEY)", **aurora.args())
    data.execute_statement(sql=f"INSERT INTO {table} VALUES (1)", **aurora.args())

    with pytest.raises(ClientError) as raised:
        data.execute_statement(sql=f"INSERT INTO {table} VALUES (1)", **aurora.args())

    code, message, status = _error(raised)
    assert (code, status) == ("DatabaseErrorException", 400)
    assert message == (
        f'ERROR: duplicate key value violates unique constraint "{table}_pkey"\n'
        "  Detail: Key (id)=(1) already exists.; SQLState: 23505"
    )


def test_batch_execute_runs_every_parameter_set(data, aurora, table):
    """BatchExecuteStatement runs the statement once per parameter set and answers one
    updateResult per set (generatedFields is empty on PostgreSQL)."""
    data.execute_statement(sql=f"CREATE TABLE {table} (id int, name text)", **aurora.args())
    sets = [
        [
            {"name": "id", "value": {"longValue": i}},
            {"name": "name", "value": {"stringValue": f"n{i}"}},
        ]
        for i in range(5)
    ]
    result = data.batch_execute_statement(
        sql=f"INSERT INTO {table} VALUES (:id, :name)", parameterSets=sets, **aurora.args()
    )
    assert result["updateResults"] == [{"generatedFields": []}] * 5
    selected = data.execute_statement(
        sql=f"SELECT id, name FROM {table} ORDER BY id", **aurora.args()
    )
    assert rows(selected) == [[i, f"n{i}"] for i in range(5)]


def test_failed_batch_leaves_nothing_behind(data, aurora, table):
    """Outside a transaction a batch is committed as a whole (one implicit transaction, like a
    JDBC batch in autocommit mode): when one parameter set fails, the rows of the sets before
    it are not kept either."""
    data.execute_statement(sql=f"CREATE TABLE {table} (id int PRIMARY KEY)", **aurora.args())
    sets = [[{"name": "id", "value": {"longValue": i}}] for i in (1, 2, 2)]
    with pytest.raises(ClientError) as raised:
        data.batch_execute_statement(
            sql=f"INSERT INTO {table} VALUES (:id)", parameterSets=sets, **aurora.args()
        )
    assert _error(raised)[0] == "DatabaseErrorException"
    assert _count(data, aurora, table) == 0


def test_committed_transaction_is_visible_and_isolated_until_commit(data, aurora, table):
    """Statements with a transactionId run in that transaction: their rows are invisible to
    other calls until CommitTransaction ("Transaction Committed"), then visible."""
    data.execute_statement(sql=f"CREATE TABLE {table} (id int)", **aurora.args())
    transaction = data.begin_transaction(**aurora.args())["transactionId"]
    data.execute_statement(
        sql=f"INSERT INTO {table} VALUES (1)", transactionId=transaction, **aurora.args()
    )
    data.batch_execute_statement(
        sql=f"INSERT INTO {table} VALUES (:id)",
        parameterSets=[[{"name": "id", "value": {"longValue": 2}}]],
        transactionId=transaction,
        **aurora.args(),
    )
    assert _count(data, aurora, table) == 0

    committed = data.commit_transaction(
        resourceArn=aurora.cluster_arn, secretArn=aurora.secret_arn, transactionId=transaction
    )

    assert committed["transactionStatus"] == "Transaction Committed"
    assert _count(data, aurora, table) == 2


def test_rolled_back_rows_are_absent(data, aurora, table):
    """RollbackTransaction ("Rollback Complete") discards the transaction's changes; its id
    is then unknown (TransactionNotFoundException)."""
    data.execute_statement(sql=f"CREATE TABLE {table} (id int)", **aurora.args())
    transaction = data.begin_transaction(**aurora.args())["transactionId"]
    data.execute_statement(
        sql=f"INSERT INTO {table} VALUES (1)", transactionId=transaction, **aurora.args()
    )

    rolled_back = data.rollback_transaction(
        resourceArn=aurora.cluster_arn, secretArn=aurora.secret_arn, transactionId=transaction
    )

    assert rolled_back["transactionStatus"] == "Rollback Complete"
    assert _count(data, aurora, table) == 0
    with pytest.raises(ClientError) as raised:
        data.execute_statement(sql="SELECT 1", transactionId=transaction, **aurora.args())
    code, message, status = _error(raised)
    assert (code, status) == ("TransactionNotFoundException", 404)
    assert transaction in message


def test_an_error_aborts_the_transaction(data, aurora, table):
    """A statement that fails inside a transaction ends it: its earlier changes are rolled
    back and later calls with its id are told it was aborted by an error."""
    data.execute_statement(sql=f"CREATE TABLE {table} (id int PRIMARY KEY)", **aurora.args())
    transaction = data.begin_transaction(**aurora.args())["transactionId"]
    data.execute_statement(
        sql=f"INSERT INTO {table} VALUES (1)", transactionId=transaction, **aurora.args()
    )
    with pytest.raises(ClientError) as raised:
        data.execute_statement(
            sql=f"INSERT INTO {table} VALUES (1)", transactionId=transaction, **aurora.args()
        )
    assert _error(raised)[0] == "DatabaseErrorException"

    with pytest.raises(ClientError) as raised:
        data.commit_transaction(
            resourceArn=aurora.cluster_arn, secretArn=aurora.secret_arn, transactionId=transaction
        )
    code, message, _status = _error(raised)
    assert code == "TransactionNotFoundException"
    assert "aborted due to an error" in message
    assert _count(data, aurora, table) == 0


def test_idle_transaction_expires_and_is_rolled_back(data, aurora, table):
    """A transaction with no call for the timeout (three minutes on AWS; shortened here
    through the service's setting) is rolled back automatically and its id expires."""
    api = get_data_api()
    assert api is not None
    data.execute_statement(sql=f"CREATE TABLE {table} (id int)", **aurora.args())
    previous = api.transaction_timeout
    api.transaction_timeout = 0.3
    try:
        transaction = data.begin_transaction(**aurora.args())["transactionId"]
        data.execute_statement(
            sql=f"INSERT INTO {table} VALUES (1)", transactionId=transaction, **aurora.args()
        )
        wait_for(
            lambda: transaction not in api.transaction_ids(),
            timeout=10,
            interval=0.05,
            description="idle transaction expired",
        )
    finally:
        api.transaction_timeout = previous
    with pytest.raises(ClientError) as raised:
        data.commit_transaction(
            resourceArn=aurora.cluster_arn, secretArn=aurora.secret_arn, transactionId=transaction
        )
    code, message, _status = _error(raised)
    assert code == "TransactionNotFoundException"
    assert "expired" in message
    assert _count(data, aurora, table) == 0


def test_statement_timeout_unless_continue_after_timeout(data, aurora):
    """A statement still running when the call times out (45 s on AWS; shortened here through
    the service's setting) is cancelled with StatementTimeoutException, unless the call sets
    continueAfterTimeout."""
    api = get_data_api()
    assert api is not None
    previous = api.statement_timeout
    api.statement_timeout = 0.2
    try:
        with pytest.raises(ClientError) as raised:
            data.execute_statement(sql="SELECT pg_sleep(2)", **aurora.args())
        assert _error(raised)[0] == "StatementTimeoutException"

        finished = data.execute_statement(
            sql="SELECT 'done' FROM pg_sleep(0.4)", continueAfterTimeout=True, **aurora.args()
        )
        assert rows(finished) == [["done"]]
    finally:
        api.statement_timeout = previous
