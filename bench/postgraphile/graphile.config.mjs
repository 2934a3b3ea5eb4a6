// PostGraphile v5 with the Amber preset over the benchmark's database: the peer dealerdesk
// is measured against. bench/servers.py starts it with Node 22 and NODE_ENV=production.
// It connects as the database superuser, so row-level security does not apply to it.
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset],
  pgServices: [
    makePgService({
      connectionString: process.env.DATABASE_URL,
      schemas: ["public"],
      poolConfig: { max: Number(process.env.PG_POOL_MAX ?? 10) },
    }),
  ],
  grafserv: {
    host: "127.0.0.1",
    port: Number(process.env.PORT ?? 5678),
    graphiql: false,
  },
  grafast: { explain: false },
};

export default preset;
