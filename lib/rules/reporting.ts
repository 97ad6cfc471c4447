// Where the rule set's report mode and unused-allowance lines go: the same ReportSink as watch().
import type { BlockingError } from '../blocking-error';
import { type OutputFormat, type OutputTarget, ReportSink, describeThrown } from '../output';
import { publishReport } from '../channels';
import { optionNaming, outputUnavailable } from '../options';

export interface ReporterOptions {
  readonly output: OutputTarget;
  readonly format: OutputFormat;
  readonly onBlock: ((error: BlockingError) => void) | undefined;
  readonly maxReportsPerMinute: number;
}

/**
 * Opens its sink at activation (so a bad path fails there, naming the option) and closes it at
 * deactivate() or process exit, writing the count of rate-limited reports if any.
 */
export class RuleReporter {
  #sink: ReportSink | undefined;
  readonly #options: ReporterOptions;
  readonly #onExit = (): void => this.close();

  constructor(options: ReporterOptions) {
    this.#options = options;
  }

  open(): void {
    if (this.#sink !== undefined) return;
    try {
      this.#sink = new ReportSink(this.#options);
    } catch (error) {
      throw outputUnavailable(optionNaming('BlockBuster'), this.#options.output, error);
    }
    process.on('exit', this.#onExit);
  }

  /** A blocking call in report mode: onBlock, or one rate-limited line. Never throws. */
  report(error: BlockingError): void {
    const { onBlock } = this.#options;
    publishReport(error, 0);
    if (onBlock === undefined) {
      this.#openSink().write(error);
      return;
    }
    try {
      onBlock(error);
    } catch (callbackError) {
      this.#openSink().writeLine(`blockbuster: onBlock threw: ${describeThrown(callbackError)}`);
    }
  }

  /** One line in the configured format: `text` for text output, `json` (an object) for JSON. */
  writeNotice(text: string, json: Record<string, unknown>): void {
    if (this.#options.format === 'json') this.#openSink().writeJsonLine(JSON.stringify(json));
    else this.#openSink().writeLine(text);
  }

  close(): void {
    if (this.#sink === undefined) return;
    process.removeListener('exit', this.#onExit);
    const sink = this.#sink;
    this.#sink = undefined;
    sink.close();
  }

  // Not opened yet when only single rules were activated (warnUnused at deactivate): open now; a
  // path that fails this late falls back to stderr, since diagnostics never throw into the host.
  #openSink(): ReportSink {
    if (this.#sink === undefined) {
      try {
        this.open();
      } catch {
        this.#sink = new ReportSink({ ...this.#options, output: 'stderr' });
        process.on('exit', this.#onExit);
      }
    }
    return this.#sink as ReportSink;
  }
}
