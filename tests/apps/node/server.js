// A tiny Node.js app: answers on $PORT with a greeting and something computed by its dependency.
const http = require("http");
const ms = require("ms");

const port = Number(process.env.PORT || 5000);

http
  .createServer((request, response) => {
    response.setHeader("Content-Type", "text/plain; charset=utf-8");
    response.end(`hello from node: two days are ${ms("2 days")} ms, 90000 ms is ${ms(90000, { long: true })}\n`);
  })
  .listen(port, () => console.log(`listening on ${port}`));
