namespace CodiLab.Pipeline.Data;

/// <summary>
/// CPython's <c>random.Random</c> (MT19937 seeded with <c>init_by_array</c>), far enough to reproduce
/// <c>random.seed(n)</c>, <c>getrandbits</c>, <c>randrange</c>, <c>choice</c>, <c>sample</c> and <c>random()</c>
/// bit for bit (docs/experiment.md#sampling). System.Random cannot reproduce the seed experiment's sample.
/// </summary>
public sealed class PyRandom
{
    private const int N = 624;
    private const int M = 397;
    private readonly uint[] _mt = new uint[N];
    private int _index;

    /// <summary>Equivalent of <c>random.seed(seed)</c> for an integer seed.</summary>
    public PyRandom(ulong seed)
    {
        // CPython splits |seed| into 32-bit words, least significant first; 0 gives one zero word.
        var key = new List<uint>();
        do
        {
            key.Add((uint)seed);
            seed >>= 32;
        }
        while (seed != 0);
        InitByArray(key);
    }

    /// <summary>How many 32-bit outputs have been drawn (for tests against CPython's draw counts).</summary>
    public long Draws { get; private set; }

    private void InitGenrand(uint s)
    {
        _mt[0] = s;
        for (int i = 1; i < N; i++)
            _mt[i] = unchecked(1812433253u * (_mt[i - 1] ^ (_mt[i - 1] >> 30)) + (uint)i);
        _index = N;
    }

    private void InitByArray(IReadOnlyList<uint> key)
    {
        InitGenrand(19650218u);
        int i = 1, j = 0;
        for (int k = Math.Max(N, key.Count); k > 0; k--)
        {
            _mt[i] = unchecked((_mt[i] ^ ((_mt[i - 1] ^ (_mt[i - 1] >> 30)) * 1664525u)) + key[j] + (uint)j);
            i++;
            j++;
            if (i >= N)
            {
                _mt[0] = _mt[N - 1];
                i = 1;
            }
            if (j >= key.Count) j = 0;
        }
        for (int k = N - 1; k > 0; k--)
        {
            _mt[i] = unchecked((_mt[i] ^ ((_mt[i - 1] ^ (_mt[i - 1] >> 30)) * 1566083941u)) - (uint)i);
            i++;
            if (i >= N)
            {
                _mt[0] = _mt[N - 1];
                i = 1;
            }
        }
        _mt[0] = 0x80000000u;
        _index = N;
    }

    /// <summary>The next raw 32-bit output (MT19937 <c>genrand_uint32</c>).</summary>
    public uint NextUInt32()
    {
        if (_index >= N)
        {
            for (int k = 0; k < N; k++)
            {
                uint y = (_mt[k] & 0x80000000u) | (_mt[(k + 1) % N] & 0x7fffffffu);
                _mt[k] = _mt[(k + M) % N] ^ (y >> 1) ^ ((y & 1u) != 0 ? 0x9908b0dfu : 0u);
            }
            _index = 0;
        }
        uint v = _mt[_index++];
        v ^= v >> 11;
        v ^= (v << 7) & 0x9d2c5680u;
        v ^= (v << 15) & 0xefc60000u;
        v ^= v >> 18;
        Draws++;
        return v;
    }

    /// <summary><c>getrandbits(k)</c> for 0 &lt; k ≤ 64.</summary>
    public ulong GetRandBits(int k)
    {
        if (k <= 0 || k > 64) throw new ArgumentOutOfRangeException(nameof(k));
        if (k <= 32) return NextUInt32() >> (32 - k);
        // CPython fills 32-bit words least significant first; the last word keeps its top bits.
        ulong low = NextUInt32();
        ulong high = NextUInt32() >> (64 - k);
        return low | (high << 32);
    }

    /// <summary><c>_randbelow(n)</c>: rejection sampling on <c>bit_length(n)</c> bits.</summary>
    public long RandBelow(long n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), "randbelow needs n > 0");
        int k = 64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)n);
        long r = (long)GetRandBits(k);
        while (r >= n) r = (long)GetRandBits(k);
        return r;
    }

    /// <summary><c>randrange(start, stop)</c>.</summary>
    public long RandRange(long start, long stop) => start + RandBelow(stop - start);

    /// <summary><c>randint(a, b)</c>, both ends included.</summary>
    public long RandInt(long a, long b) => RandRange(a, b + 1);

    /// <summary><c>choice(seq)</c>.</summary>
    public T Choice<T>(IReadOnlyList<T> items) => items[(int)RandBelow(items.Count)];

    /// <summary><c>random()</c>: a double in [0, 1) from 53 random bits.</summary>
    public double NextDouble()
    {
        ulong a = NextUInt32() >> 5, b = NextUInt32() >> 6;
        return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
    }

    /// <summary><c>sample(range(n), k)</c>, in draw order (both of CPython's branches).</summary>
    public long[] Sample(long n, int k)
    {
        if (k < 0 || k > n) throw new ArgumentOutOfRangeException(nameof(k), "sample larger than population or is negative");
        var result = new long[k];
        int setsize = 21;
        if (k > 5) setsize += (int)Math.Pow(4, Math.Ceiling(Math.Log(k * 3) / Math.Log(4)));
        if (n <= setsize)
        {
            var pool = new long[n];
            for (long i = 0; i < n; i++) pool[i] = i;
            for (int i = 0; i < k; i++)
            {
                long j = RandBelow(n - i);
                result[i] = pool[j];
                pool[j] = pool[n - i - 1];
            }
        }
        else
        {
            var selected = new HashSet<long>();
            for (int i = 0; i < k; i++)
            {
                long j = RandBelow(n);
                while (!selected.Add(j)) j = RandBelow(n);
                result[i] = j;
            }
        }
        return result;
    }
}
