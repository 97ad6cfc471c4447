// node:test reporter: one JSON line per finished test (name, pass/fail, the failure's own message),
// and one per chunk a test file's process wrote to stderr.
export default async function* jsonLines(source) {
  for await (const event of source) {
    if (event.type === 'test:stderr') {
      yield `${JSON.stringify({ stderr: event.data.message })}\n`;
      continue;
    }
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const error = event.data.details?.error;
    // node:test wraps a test's error in ERR_TEST_FAILURE; the cause is what the test threw.
    const cause = error?.cause ?? error;
    yield `${JSON.stringify({
      name: event.data.name,
      status: event.type === 'test:pass' ? 'passed' : 'failed',
      message: cause ? `${cause.name ?? 'Error'}: ${cause.message}` : undefined,
    })}\n`;
  }
}
