// Writes FILE.gz (gzip -9) and FILE.br (brotli, quality 11) beside each
// FILE given, for the server to send pre-compressed. Node's zlib: no other
// tool to install.
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

for (const file of process.argv.slice(2)) {
  if (file.endsWith('.gz') || file.endsWith('.br')) continue;
  const data = readFileSync(file);
  writeFileSync(`${file}.gz`, gzipSync(data, { level: 9 }));
  writeFileSync(`${file}.br`, brotliCompressSync(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  }));
}
