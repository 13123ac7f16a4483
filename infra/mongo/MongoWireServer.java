import java.util.List;
import java.util.concurrent.CountDownLatch;

import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.backend.memory.MemoryCollection;
import de.bwaldvogel.mongo.backend.memory.MemoryDatabase;
import de.bwaldvogel.mongo.bson.Document;

/**
 * The local stack's MongoDB-wire server: mongo-java-server on 127.0.0.1.
 *
 * <pre>java -cp 'classes:libs/*' MongoWireServer PORT [H2_FILE]</pre>
 *
 * Without H2_FILE the data lives in memory and is gone when the process ends; with it,
 * the H2 backend keeps it in that file. SIGTERM shuts the server down cleanly.
 */
public final class MongoWireServer {

    /**
     * What the handshake, buildInfo and serverStatus report, and nothing else: the library
     * says wire version 8 by default, and PyMongo 4 refuses servers below 9.
     */
    static final MongoVersion REPORTED_VERSION = new MongoVersion() {
        @Override
        public List<Integer> getVersionArray() {
            return List.of(5, 0, 0);
        }

        @Override
        public int getWireVersion() {
            return 13;
        }
    };

    private MongoWireServer() {
    }

    public static void main(String[] args) throws InterruptedException {
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: MongoWireServer PORT [H2_FILE]");
            System.exit(2);
        }
        int port = Integer.parseInt(args[0]);
        MongoBackend backend = args.length == 2 ? new H2Backend(args[1]) : new NarrowingMemoryBackend();
        backend.version(REPORTED_VERSION);
        MongoServer server = new MongoServer(backend);
        server.bind("127.0.0.1", port);
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdown, "shutdown"));
        System.out.println("serving on 127.0.0.1:" + port + (args.length == 2 ? " with H2 file " + args[1] : " in memory"));
        new CountDownLatch(1).await(); // the server's own threads serve; the shutdown hook ends it
    }

    /** The memory backend, with collections that use a unique index for more queries. */
    static final class NarrowingMemoryBackend extends MemoryBackend {
        @Override
        public MemoryDatabase openOrCreateDatabase(String databaseName) {
            return new MemoryDatabase(databaseName, getCursorRegistry()) {
                @Override
                protected MemoryCollection openOrCreateCollection(String name, CollectionOptions options) {
                    return new NarrowingCollection(this, name, options, cursorRegistry);
                }
            };
        }
    }

    /**
     * The library answers a query from an index only when the query's fields are exactly
     * that index's fields; `{_id: x, "sessions.s.revoked_at": null}` reads every document.
     * Here, when the query pins all fields of a unique index and has others besides, that
     * index picks the candidates (at most one per value) and the whole query then filters
     * them, as the library itself does after an exact index match.
     */
    static final class NarrowingCollection extends MemoryCollection {
        NarrowingCollection(MongoDatabase database, String name, CollectionOptions options,
                            CursorRegistry cursorRegistry) {
            super(database, name, options, cursorRegistry);
        }

        @Override
        protected QueryResult queryDocuments(Document query, Document orderBy, int numberToSkip, int limit,
                                             int batchSize, Document fieldSelector) {
            for (Index<Integer> index : getIndexes()) {
                Document pinned = indexedPart(index, query);
                if (pinned != null && pinned.size() < query.size() && index.canHandle(pinned)) {
                    return matchDocuments(query, index.getPositions(pinned), orderBy, numberToSkip, limit,
                        batchSize, fieldSelector);
                }
            }
            return super.queryDocuments(query, orderBy, numberToSkip, limit, batchSize, fieldSelector);
        }

        /** The query's conditions on the index's fields, or null if it lacks one of them. */
        private static Document indexedPart(Index<Integer> index, Document query) {
            if (!index.isUnique()) {
                return null;
            }
            Document part = new Document();
            for (IndexKey key : index.getKeys()) {
                if (!query.containsKey(key.getKey())) {
                    return null;
                }
                part.put(key.getKey(), query.get(key.getKey()));
            }
            return part;
        }
    }
}
